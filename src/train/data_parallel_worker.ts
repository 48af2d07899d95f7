/**
 * Worker of {@linkcode DataParallelStep} (src/train/data_parallel.ts): its own tfjs instance
 * (own wasm heap, own thread) holding a copy of the model, built from the model's kind and config.
 * Per step it loads the current weights from the shared weights buffer, computes the loss and the
 * gradient of its shard of the batch and writes the gradient into its own region of shared memory;
 * the loss it reports is weighted by the shard's share of the batch, and so is the gradient when
 * the main thread adds it, so that the shards add up to the whole batch's mean-loss gradient. Control goes through `postMessage`; bulk data through SharedArrayBuffers.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { type BackendName, selectBackend } from "../backend.ts";
import { hostView } from "../ops/host_view.ts";
import type { ModelKind } from "../models/base.ts";
import { type AnyModel, createModel } from "../models/load.ts";
import { gradientsOf, trainableVariables } from "./step.ts";
import { type ParentPort, parentPort } from "./worker_port.ts";

/** First message: what to build and where the shared buffers are. */
export interface InitMessage {
  type: "init";
  kind: ModelKind;
  config: Record<string, unknown>;
  backend: BackendName;
  /** Whether the main thread has the FMA kernels switched on (the Worker's module state starts fresh). */
  fma: boolean;
  /** Whether the main thread runs tfjs-wasm's threaded build; when not, neither does the Worker. */
  wasmThreads: boolean;
  /** Every trainable variable, concatenated in `trainableVariables` order (float32). */
  weights: SharedArrayBuffer;
  /** This worker's gradient region, same layout as `weights`. */
  grads: SharedArrayBuffer;
  /** Shapes of the trainable variables, in order (checked against the worker's own model). */
  shapes: number[][];
}

/** One step on a shard. */
export interface StepMessage {
  type: "step";
  images: Float32Array;
  imagesShape: [number, number, number, number];
  labels: Int32Array;
  labelsShape: [number, number];
  /**
   * The shard's share of the batch (rows / batch): the loss is scaled by it here, the gradient by
   * the main thread as it adds the shards (inside its fused update: no pass of its own).
   */
  weight: number;
}

/** Replies: `ready` after init, `done` with the shard's weighted loss after a step, or an error. */
export type Reply = { type: "ready" } | { type: "done"; loss: number } | { type: "error"; message: string };

let model: AnyModel | undefined;
let weights: Float32Array;
let grads: Float32Array;

async function init(m: InitMessage): Promise<void> {
  if (m.backend === "wasm" && !m.wasmThreads) tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  await selectBackend(m.backend, { fma: m.fma });
  model = createModel(m.kind, m.config);
  const shapes = trainableVariables(model).map((v) => v.shape);
  if (JSON.stringify(shapes) !== JSON.stringify(m.shapes)) {
    throw new Error(
      `data-parallel worker: the model built from the config has variables ${JSON.stringify(shapes)}, ` +
        `the main thread's has ${JSON.stringify(m.shapes)}`,
    );
  }
  weights = new Float32Array(m.weights);
  grads = new Float32Array(m.grads);
}

function step(m: StepMessage): number {
  const vars = trainableVariables(model!);
  let offset = 0;
  // tfjs-backend-wasm copies a new tensor's values at once, so a view of shared memory does there;
  // other backends may keep the array, which the main thread rewrites next step.
  const copies = tf.getBackend() !== "wasm";
  for (const v of vars) {
    const n = v.size;
    const values = copies ? weights.slice(offset, offset + n) : weights.subarray(offset, offset + n);
    tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
    offset += n;
  }
  const images = tf.tensor4d(m.images, m.imagesShape);
  const labels = tf.tensor2d(m.labels, m.labelsShape, "int32");
  const { loss, grads: g } = gradientsOf(model!, images, labels);
  let loss0 = 0;
  try {
    loss0 = loss.dataSync()[0] * m.weight;
    offset = 0;
    for (const t of g) {
      grads.set(hostView(t) as Float32Array, offset);
      offset += t.size;
    }
  } finally {
    tf.dispose([images, labels, loss, ...g]);
  }
  return loss0;
}

function serve(port: ParentPort): void {
  port.listen(async (data) => {
    const m = data as InitMessage | StepMessage;
    try {
      if (m.type === "init") {
        await init(m);
        port.post({ type: "ready" } satisfies Reply);
      } else {
        port.post({ type: "done", loss: step(m) } satisfies Reply);
      }
    } catch (error) {
      const message = error instanceof Error ? `${error.message}\n${error.stack}` : String(error);
      port.post({ type: "error", message } satisfies Reply);
    }
  });
}

const port = parentPort();
if (port instanceof Promise) port.then(serve);
else serve(port);
