/**
 * The one place this library imports TensorFlow.js from.
 *
 * `@tensorflow/tfjs-core`'s Node entry (the one Deno loads) registers no gradients; the
 * `@tensorflow/tfjs` umbrella does, and brings tfjs-layers and the cpu backend with it.
 * The wasm and webgpu backends only register themselves as a side effect of being imported,
 * so they are imported here for that effect and nothing else.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";

// tfjs prints a "use tfjs-node" banner under Deno (it sees `process`); PROD also drops
// debug-mode checks. Users who want tfjs's debug mode can still set `tf.env().set("DEBUG", true)`.
tf.env().set("PROD", true);

export { tf };
