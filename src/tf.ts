/**
 * The one place this library imports TensorFlow.js from.
 *
 * `@tensorflow/tfjs-core`'s Node entry (the one Deno loads) registers no gradients; the
 * `@tensorflow/tfjs` umbrella does, and brings tfjs-layers and the cpu backend with it.
 * tfjs-backend-wasm registers itself as a side effect of being imported. tfjs-backend-webgpu is
 * not imported here: `selectBackend` imports it when it is asked for or auto finds a hardware
 * adapter, so that a Node install without that package still works.
 *
 * @module
 */
// First: quiets a second tfjs copy's duplicate-kernel warnings before this copy registers its kernels.
import "./tf_prelude.ts";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

// tfjs prints a "use tfjs-node" banner under Deno (it sees `process`); PROD also drops
// debug-mode checks. Users who want tfjs's debug mode can still set `tf.env().set("DEBUG", true)`.
tf.env().set("PROD", true);

/**
 * Puts `name` below cpu in tfjs's backend priority, unless it is already initialised.
 *
 * Without this, importing the library leaves an asynchronously initialised backend (wasm, or
 * webgpu once imported) as tfjs's highest-priority one: every plain tensor op and
 * `tf.loadLayersModel` before `await tf.ready()` would then throw "has not yet been initialized".
 * Browsers also get webgl from the umbrella package, which has none of this library's kernels.
 * With cpu the default, tfjs works at once; `selectBackend` switches explicitly.
 */
export function demoteBackend(name: string): void {
  const factory = tf.findBackendFactory(name);
  if (factory == null || backendStarted(name)) return;
  tf.removeBackend(name);
  tf.registerBackend(name, factory, 0);
}

/**
 * Whether tfjs has initialised (or is initialising) backend `name`. Unlike `tf.findBackend`, which
 * starts an uninitialised backend as a side effect, this only looks.
 */
export function backendStarted(name: string): boolean {
  const engine = tf.engine() as unknown as { registry: Record<string, unknown>; backendName: string | null };
  return name in engine.registry || engine.backendName === name;
}

for (const name of ["wasm", "webgl"]) demoteBackend(name);

export { tf };
