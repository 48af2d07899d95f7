/**
 * The recipe's optimizer step — element-wise clip, global-norm clip, RMSprop — fused into two
 * passes of the WASM kernels in `wasm/src/rmsprop.rs` on the wasm backend. Unfused, tfjs runs ~12
 * small kernels per variable (ClipByValue, Square, Sum, AddN, Sqrt, Mul, Add, RealDiv, Sub, …):
 * ~33 ms per RNN-SPN step over 1.68 M parameters, during which a data-parallel Worker sits idle.
 *
 * The state stays tfjs's own: the accumulators are the `RMSPropOptimizer`'s variables (created
 * and named as it would, replaced through `assign`), and the iteration count is incremented as it
 * would, so `getWeights`/`setWeights` (checkpoints) and `setLearningRate` behave unchanged. The
 * kernels repeat tfjs's float32 operations in its order (and its kernels' NaN rules), so the
 * result is bitwise the unfused path's (tests/fused_update_test.ts).
 *
 * Between steps the weights and accumulators also stay in the kernels module's memory (12 bytes
 * per parameter: 20 MB for the RNN-SPN), so a step copies in only the gradients; see `resident`.
 *
 * Not fused (see {@linkcode canFuseUpdate}): other backends, Adam, centered RMSprop, subclasses of
 * `RMSPropOptimizer`, non-float32 variables.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { arena, f32, type WasmBackendLike } from "../kernels/wasm/heap.ts";
import { wasmKernels } from "../kernels/wasm/module.ts";

/** The fields of tfjs's `RMSPropOptimizer` the fused update reads and updates (all runtime-public). */
interface RmspropInternals {
  learningRate: number;
  decay: number;
  momentum: number;
  epsilon: number;
  centered: boolean;
  accumulatedMeanSquares: { originalName: string; variable: tf.Variable }[];
  accumulatedMoments: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/**
 * Switch for A/B measurements and parity tests: `false` sends every step down tfjs's unfused path.
 * Not part of the public API.
 */
export const fusedUpdate = { enabled: true };

/** Resolved clipping: `clipValue`/`clipNorm` of `ClipOptions`, `Infinity` meaning off. */
export interface Clip {
  /** Each element to ±clipValue (finite and > 0), else no element-wise clip. */
  clipValue: number;
  /** Global norm to ≤ clipNorm (finite and > 0), else no norm clip. */
  clipNorm: number;
}

/** Data-parallel additions to {@linkcode fusedClipRmsprop}. */
export interface FusedExtras {
  /** Factor applied to `grads` before anything else (the main shard's share of the batch). */
  gradScale?: number;
  /**
   * The other shards' gradients, each every variable concatenated in `vars` order, multiplied by
   * its `scale` (the shard's share of the batch) and added after `grads` in this order.
   */
  shards?: readonly { grads: Float32Array; scale: number }[];
  /** Receives the updated weights, every variable concatenated in `vars` order. */
  weightsOut?: Float32Array;
}

/**
 * Whether {@linkcode fusedClipRmsprop} handles this update: the wasm backend, tfjs's own
 * non-centered `RMSPropOptimizer` (exactly that class: a subclass may change the update), distinct
 * float32 variables (tfjs would update a repeated one twice in sequence) and float32 gradients of
 * their shapes (tfjs's path reports a mismatch).
 */
export function canFuseUpdate(optimizer: tf.Optimizer, vars: tf.Variable[], grads: tf.Tensor[]): boolean {
  if (!fusedUpdate.enabled || tf.getBackend() !== "wasm") return false;
  // Not `instanceof`: tfjs's Optimizer[Symbol.hasInstance] accepts any optimizer.
  if (Object.getPrototypeOf(optimizer) !== tf.RMSPropOptimizer.prototype) return false;
  if ((optimizer as unknown as RmspropInternals).centered) return false;
  return vars.length === grads.length && vars.length > 0 && new Set(vars).size === vars.length &&
    vars.every((v, i) =>
      v.dtype === "float32" && grads[i].dtype === "float32" && tf.util.arraysEqual(grads[i].shape, v.shape)
    );
}

/** The optimizer's accumulators of variable `i`, created as tfjs's `applyGradients` would. */
function accumulators(o: RmspropInternals, i: number, v: tf.Variable): [tf.Variable, tf.Variable] {
  o.accumulatedMeanSquares[i] ??= {
    originalName: `${v.name}/rms`,
    variable: tf.tidy(() => tf.zerosLike(v).variable(false)),
  };
  o.accumulatedMoments[i] ??= {
    originalName: `${v.name}/momentum`,
    variable: tf.tidy(() => tf.zerosLike(v).variable(false)),
  };
  return [o.accumulatedMeanSquares[i].variable, o.accumulatedMoments[i].variable];
}

const fround = Math.fround;

/**
 * Weights and accumulators as the last fused update left them, `[weights | mean squares |
 * moments]` in our module's memory (its own allocation: the arena is every kernel's scratch), so
 * that the next update of the same optimizer need not copy them in from tfjs's heap again. Valid
 * while every variable and accumulator still holds the data (`dataId`) that update assigned it:
 * any other `assign` (a loaded model, restored optimizer state) gives a variable a new dataId, and
 * the next update copies everything in afresh.
 */
const resident = {
  ptr: 0,
  bytes: 0,
  optimizer: null as WeakRef<tf.Optimizer> | null,
  ids: [] as object[],
};

/** Reserves the resident buffer for `total` parameters; whether it holds `tensors`' data. */
function reserveResident(optimizer: tf.Optimizer, total: number, tensors: tf.Tensor[]): boolean {
  const bytes = 3 * total * 4;
  if (bytes !== resident.bytes) {
    const wasm = wasmKernels();
    if (resident.ptr) wasm.rnnspn_free(resident.ptr, resident.bytes);
    resident.ptr = 0;
    resident.bytes = 0;
    resident.optimizer = null;
    const ptr = wasm.rnnspn_alloc(bytes);
    if (ptr === 0) throw new Error(`fusedClipRmsprop: out of memory allocating ${bytes} bytes of state`);
    [resident.ptr, resident.bytes] = [ptr, bytes];
  }
  return resident.optimizer?.deref() === optimizer && resident.ids.length === tensors.length &&
    tensors.every((t, i) => t.dataId === resident.ids[i]);
}

/**
 * tfjs's `clipGradients` scale from the per-variable float32 sums of squares, operation for
 * operation: `min(1, clipNorm / max(sqrt(addN(sums)), 1e-12))` in float32. (A float64 operation on
 * float32 operands rounded to float32 is the float32 operation: double has > 2·24 + 2 bits.)
 */
function normScale(sums: Float32Array, clipNorm: number): number {
  let total = 0;
  for (const s of sums) total = fround(total + s);
  const norm = fround(Math.sqrt(total));
  // tfjs-backend-wasm's Maximum (XNNPACK) returns the number when one operand is NaN: a NaN
  // gradient leaves the scale at 1 rather than poisoning every variable.
  const floor = Number.isNaN(norm) ? fround(1e-12) : Math.max(norm, fround(1e-12));
  return Math.min(1, fround(fround(clipNorm) / floor));
}

/**
 * `clipGradients(grads, clip)` then `optimizer.applyGradients` (tfjs's RMSprop), fused; only where
 * {@linkcode canFuseUpdate} holds. With `extras`, the gradient is `grads · gradScale +
 * shards[0].grads · shards[0].scale + …` (data-parallel) and the new weights are also written to `weightsOut`. The caller keeps
 * ownership of `grads`.
 */
export function fusedClipRmsprop(
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  grads: tf.Tensor[],
  clip: Clip,
  extras: FusedExtras = {},
): void {
  const o = optimizer as unknown as RmspropInternals;
  const { gradScale = 1, shards = [], weightsOut } = extras;
  const sizes = vars.map((v) => v.size);
  const total = sizes.reduce((a, b) => a + b, 0);
  for (const { grads } of shards) {
    if (grads.length !== total) {
      throw new Error(
        `fusedClipRmsprop: a shard has ${grads.length} gradient values; the variables ${total}`,
      );
    }
  }
  if (weightsOut && weightsOut.length !== total) {
    throw new Error(`fusedClipRmsprop: weightsOut holds ${weightsOut.length} values; the variables ${total}`);
  }
  const accs = vars.map((v, i) => accumulators(o, i, v));
  const state = () => [...vars, ...accs.map((a) => a[0]), ...accs.map((a) => a[1])];
  const inPlace = reserveResident(optimizer, total, state());
  resident.optimizer = null; // until the update below has completed
  const [wPtr, msPtr, moPtr] = [0, 1, 2].map((k) => resident.ptr + k * total * 4);
  const count = 1 + shards.length;
  const [gPtr, scalesPtr, sizesPtr, sumsPtr] = arena([
    count * total * 4,
    count * 4,
    vars.length * 4,
    vars.length * 4,
  ]);
  // Views after both allocations: growing our memory detaches older ones. tfjs's heap does not
  // grow before the outputs are made below, so its views stay valid while copying in.
  const backend = tf.backend() as unknown as WasmBackendLike;
  const g = f32(gPtr, count * total);
  const w = f32(wPtr, total);
  const ms = f32(msPtr, total);
  const mo = f32(moPtr, total);
  let at = 0;
  vars.forEach((v, i) => {
    g.set(backend.typedArrayFromHeap(grads[i]) as Float32Array, at);
    if (!inPlace) {
      w.set(backend.typedArrayFromHeap(v) as Float32Array, at);
      ms.set(backend.typedArrayFromHeap(accs[i][0]) as Float32Array, at);
      mo.set(backend.typedArrayFromHeap(accs[i][1]) as Float32Array, at);
    }
    at += v.size;
  });
  shards.forEach((s, k) => g.set(s.grads, (k + 1) * total));
  f32(scalesPtr, count).set([gradScale, ...shards.map((s) => s.scale)]);
  new Uint32Array(wasmKernels().memory.buffer, sizesPtr, vars.length).set(sizes);

  const wasm = wasmKernels();
  const clipsValue = clip.clipValue > 0 && Number.isFinite(clip.clipValue);
  wasm.rmsprop_clip_sumsq(
    gPtr,
    count,
    total,
    sizesPtr,
    vars.length,
    scalesPtr,
    clipsValue ? 1 : 0,
    fround(clipsValue ? clip.clipValue : 0),
    sumsPtr,
  );
  const clipsNorm = clip.clipNorm > 0 && Number.isFinite(clip.clipNorm);
  // tfjs's clipGradients does not multiply at all without a norm clip; × 1 is exact either way.
  const scale = clipsNorm ? normScale(f32(sumsPtr, vars.length), clip.clipNorm) : 1;
  wasm.rmsprop_update(
    gPtr,
    wPtr,
    msPtr,
    moPtr,
    total,
    scale,
    fround(o.decay),
    fround(1 - o.decay),
    fround(o.momentum),
    fround(o.learningRate),
    fround(o.epsilon),
  );

  // New tensors (tf.tensor copies into tfjs's heap) assigned to the variables, as tfjs's own update
  // does: writing the variables' buffers in place would also change any tensor sharing them.
  at = 0;
  vars.forEach((v, i) => {
    const n = v.size;
    const [msVar, moVar] = accs[i];
    tf.tidy(() => {
      msVar.assign(tf.tensor(ms.subarray(at, at + n), v.shape, "float32"));
      moVar.assign(tf.tensor(mo.subarray(at, at + n), v.shape, "float32"));
      v.assign(tf.tensor(w.subarray(at, at + n), v.shape, "float32"));
    });
    at += n;
  });
  weightsOut?.set(w);
  resident.optimizer = new WeakRef(optimizer);
  resident.ids = state().map((t) => t.dataId);
  o.incrementIterations();
}
