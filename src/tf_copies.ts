/**
 * A second copy of TensorFlow.js in the same program (a project's own `@tensorflow/tfjs` beside the one
 * this library resolves, or a `<script>` tfjs beside the browser build): told apart, explained once,
 * and refused where it cannot work.
 *
 * tfjs copies meet in the global namespace: the first one loaded creates the engine (backends, tensor
 * data, tapes; it also makes every tensor, as instances of its own class) and the kernel and gradient
 * registries, and later copies use them; `instanceof tf.Tensor` is duck-typed across copies. Tensors
 * of copies that share this engine therefore work (measured: outputs equal bit for bit), and the one
 * sign left of the second copy — its kernels registered again, 343 warnings in Node when it came
 * first, now silenced by `src/tf_prelude.ts` — becomes one console line naming both copies and the
 * fix. A tensor whose data this engine does not hold (a copy that made its own engine: another
 * global object, an old tfjs) cannot work, and {@linkcode checkTensor} refuses it with an error
 * saying so, where tfjs would fail later with a message about missing data.
 *
 * @module
 */
import { tf } from "./tf.ts";
import { hasFileSystem } from "./data/files.ts";

/** The fix, in one sentence. */
const FIX =
  "keep one copy: `npm ls @tensorflow/tfjs-core` lists them, `npm dedupe` (or one @tensorflow/tfjs " +
  "version across your dependencies) removes the second; or create tensors with this library's `tf` export (`import { tf } from \"@rnnspn/core\"`, or from the browser build's rnnspn.js)";

/** The tensor class of the copy loaded first (tfjs keeps it in its global map), or undefined. */
function firstTensorClass(): unknown {
  const globals = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals;
  return globals?.get("Tensor");
}

/** `require` as `node:module` makes it (Node, and Deno's Node compatibility). */
type Require = { (id: string): unknown; resolve(id: string): string };

/** `node:module`'s `createRequire`, reached synchronously (the checks run inside synchronous ops). */
function createRequire(from: string): Require | undefined {
  const g = globalThis as { process?: { getBuiltinModule?(id: string): unknown } };
  const module = g.process?.getBuiltinModule?.("node:module") as
    | { createRequire(from: string): Require }
    | undefined;
  return module?.createRequire(from);
}

/** The tfjs-core the project in the current directory resolves, when there is one: version and folder. */
function projectCopy(): { cwd: string; version: string; dir: string } | undefined {
  const cwd = (globalThis as { process?: { cwd?(): string } }).process?.cwd?.();
  if (!cwd) return undefined;
  try {
    const require = createRequire(`${cwd}/`);
    if (!require) return undefined;
    const manifest = require.resolve("@tensorflow/tfjs-core/package.json");
    const { version } = require(manifest) as { version: string };
    return { cwd, version, dir: manifest.slice(0, -"package.json".length) };
  } catch {
    return undefined;
  }
}

/**
 * Both copies, as far as they can be known: this library's tfjs-core (version, and in Deno and Node
 * where it resolves from), and in Node the one the current directory's project resolves, when that is
 * another. A tensor does not say which copy made it.
 *
 * @example
 * ```ts
 * import { describeTfjsCopies } from "./tf_copies.ts";
 * console.log(describeTfjsCopies()); // this library's @tensorflow/tfjs-core 4.22.0 (…)
 * ```
 */
export function describeTfjsCopies(): string {
  let ours = `this library's @tensorflow/tfjs-core ${tf.version_core}`;
  if (!hasFileSystem()) return `${ours} (bundled in this module); the other copy's is not known`;
  let ourPath = "";
  try {
    ourPath = import.meta.resolve("@tensorflow/tfjs-core");
    ours += ` (${ourPath})`;
  } catch {
    // Resolved by a bundler: no path to name.
  }
  const project = projectCopy();
  if (project && !decodeURIComponent(ourPath).includes(project.dir.replaceAll("\\", "/"))) {
    return `${ours}; the project in ${project.cwd} resolves @tensorflow/tfjs-core ${project.version} (${project.dir})`;
  }
  return `${ours}; the other copy's is not known (a tensor does not record which copy made it)`;
}

let warned = false;

/** One console line per program about a second tfjs copy (the first cause found says what it saw). */
function warnOnce(seen: string): void {
  if (warned) return;
  warned = true;
  console.warn(
    `@rnnspn/core: ${seen}; two copies of TensorFlow.js share one engine and kernel registry (the copy ` +
      `loaded last overrides each kernel). It works, but ${FIX}. Copies: ${describeTfjsCopies()}.`,
  );
}

// Another copy loaded first (its tensor class is tfjs's global one): this copy re-registered its
// kernels there, quietly (src/tf_prelude.ts). A copy loaded after this one leaves no sign.
const first = firstTensorClass();
if (first !== undefined && first !== tf.Tensor) {
  warnOnce("another copy of TensorFlow.js was loaded before this library's");
}

/** A short description of a value that should have been a tensor. */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "no prototype"})`;
  return typeof value;
}

/**
 * Checks that `value` is a `tf.Tensor` this library's engine can use: made by this engine, whichever
 * copy's code asked for it (when another copy's engine is the shared one, with one console line per
 * program about the two copies). Anything else throws an error that starts with `what` ("spatialTransform: image"), and for a tensor
 * of a copy with its own engine names the copies and the fix.
 *
 * @example
 * ```ts
 * import { tf } from "./tf.ts";
 * import { checkTensor } from "./tf_copies.ts";
 * checkTensor(tf.zeros([1, 2]), "myOp: x"); // passes
 * try {
 *   checkTensor([[1, 2]], "myOp: x");
 * } catch (error) {
 *   console.log((error as Error).message); // myOp: x must be a tf.Tensor; got an array
 * }
 * ```
 */
export function checkTensor(value: unknown, what: string): asserts value is tf.Tensor {
  if (!(value instanceof tf.Tensor)) {
    throw new Error(`${what} must be a tf.Tensor; got ${describeValue(value)}`);
  }
  if (Object.prototype.isPrototypeOf.call(tf.Tensor.prototype, value) || value.isDisposed) return;
  const engine = tf.engine() as unknown as { state?: { tensorInfo?: WeakMap<object, unknown> } };
  const info = engine.state?.tensorInfo;
  if (info && !info.has(value.dataId as object)) {
    throw new Error(
      `${what} is a tf.Tensor of another copy of TensorFlow.js with an engine of its own: this library's ` +
        `engine does not hold its data, so it cannot be used here. To fix it, ${FIX}. Copies: ` +
        `${describeTfjsCopies()}.`,
    );
  }
  warnOnce(`${what} is a tf.Tensor of another copy of TensorFlow.js`);
}
