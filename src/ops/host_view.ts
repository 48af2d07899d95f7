/**
 * Reading a tensor's values on the host without a copy (`hostView`: on wasm a view of tfjs's heap,
 * valid only until tfjs next allocates; elsewhere `dataSync()`): how data-parallel training hands
 * gradients and batches to its Workers through shared memory. Re-exported here so that training
 * reaches the wasm backend's heap only through the ops layer.
 *
 * @module
 */
export { hostView } from "../kernels/wasm/heap.ts";
