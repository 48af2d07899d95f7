/**
 * Runs before this library's TensorFlow.js is evaluated (the first import of `src/tf.ts`, and in the
 * Node build a module of its own that `rnnspn.js` imports first). When another copy of tfjs is
 * already loaded, both share one engine through the global namespace, and this library's copy would
 * re-register every kernel of its cpu and webgl backends there, each with a console warning (343 lines
 * in Node). Those warnings are off in tfjs's production mode, which `src/tf.ts` turns on anyway right
 * after loading tfjs: this turns it on just before, on the engine already there. `src/tf_copies.ts`
 * then prints one line that says what happened and how to keep one copy.
 *
 * Imports and exports nothing: a side effect only, which may run twice (the Node build's inlined copy
 * runs after tfjs, harmlessly).
 *
 * @module
 */

/** The part of a tfjs engine this module touches. */
interface EngineLike {
  ENV?: { set?(flag: string, value: boolean): void };
}

try {
  (globalThis as { _tfengine?: EngineLike })._tfengine?.ENV?.set?.("PROD", true);
} catch {
  // A tfjs too old to know the flag: its warnings stay.
}
