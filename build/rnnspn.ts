/**
 * Entry of the browser and Node builds (`dist/browser/rnnspn.js`, `dist/node/rnnspn.js`): the library's API and the TensorFlow.js
 * it runs on, in one module: a page then needs neither an import map nor a CDN, and Node code uses the same
 * tfjs instance as the library (not a second copy from another node_modules).
 *
 * @module
 */
export * from "../mod.ts";
export { tf } from "../src/tf.ts";
