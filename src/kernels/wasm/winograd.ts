/**
 * Winograd F(4×4, 3×3) and F(2×2, 3×3) for the 3×3, stride-1 convolutions of training on wasm: the
 * forward (`Conv2D`, and `FusedConv2D` with bias and relu or no activation), ∂x
 * (`Conv2DBackpropInput`) and ∂W (`Conv2DBackpropFilter`), in our Rust module
 * (`wasm/src/winograd.rs`). The direct kernels (XNNPACK's, our GEMMs) already run near the SIMD128
 * multiply rate, so only fewer multiplies move these: 36 per 4×4 output tile and channel pair
 * instead of 144 (F(4×4)), 16 per 2×2 instead of 36 (F(2×2)). F(4×4)'s float32 rounding is a few
 * times direct convolution's (relative error ~1e-5 at 96 channels against ~1e-6).
 *
 * The kernels in `conv2d.ts`, `conv2d_backprop_input.ts` and `conv2d_backprop_filter.ts` call in
 * here when {@linkcode winogradApplies}; everything else keeps the direct kernel.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { arena, f32, type WasmBackendLike } from "./heap.ts";
import { fmaKernels } from "./fma.ts";
import { wasmKernels } from "./module.ts";

/**
 * Knobs for A/B benchmarks (`bench/winograd_report.ts`) and tests; not part of the public API.
 */
export const winogradSettings = {
  /** With false every convolution takes the direct kernel. */
  enabled: true,
  /**
   * Both channel counts must be at least this for Winograd to pay: with few channels the GEMMs are
   * small next to the transforms.
   */
  minChannels: 16,
  /**
   * Tiles transformed per pass: the transformed tiles of one pass stay in cache for the GEMMs.
   * 12 measured 5–20% faster than 8, 16 or 32 (a power of two puts the planes, one pass apart,
   * on the same cache sets).
   */
  chunk: 12,
  /** Outputs per tile side: 2, 3 or 4 for F(m×m, 3×3), 0 to choose per shape. */
  tile: 0 as 0 | WinogradTile,
};

/**
 * Our kernels module with its Winograd tile GEMMs switched to the fused multiply-add variants
 * (`fma.ts`) while those are active, to its own SIMD128 ones otherwise.
 */
function winogradKernels(): ReturnType<typeof wasmKernels> {
  const k = wasmKernels();
  k.winograd_set_fma(fmaKernels(k.memory) ? 1 : 0);
  return k;
}

/** Multiplies per image and channel pair with tile size `m`, partial edge tiles counted whole. */
function multiplies(info: tf.backend_util.Conv2DInfo, m: number): number {
  return Math.ceil(info.outHeight / m) * Math.ceil(info.outWidth / m) * (m + 2) ** 2;
}

/** Outputs per side of a Winograd tile: F(2×2, 3×3), F(3×3, 3×3) or F(4×4, 3×3). */
export type WinogradTile = 2 | 3 | 4;

/**
 * The tile size for `info`: the one with the fewest multiplies once partial tiles at the bottom
 * and right edges are counted whole, (m+2)² per tile (the transforms scale alike); the smaller
 * tile on a tie, as its rounding error is smaller. F(4×4) wins on most sizes despite its partial
 * tiles (13×13 outputs: 4² tiles · 36 = 576 multiplies per image and channel pair against
 * 5² · 25 = 625 and 7² · 16 = 784); whole F(3×3) tiles win at 3, 5, 6 and 9 outputs (9×9: 225
 * against 324 and 400); 2×2 outputs take F(2×2) (16 against 25 and 36).
 */
export function winogradTile(info: tf.backend_util.Conv2DInfo): WinogradTile {
  if (winogradSettings.tile !== 0) return winogradSettings.tile;
  let best: WinogradTile = 2;
  for (const m of [3, 4] as const) if (multiplies(info, m) < multiplies(info, best)) best = m;
  return best;
}

/**
 * Whether the convolution `info` describes takes the Winograd path: 3×3, stride 1, dilation 1,
 * enough channels, and outputs large enough that whole tiles save at least a third of direct
 * convolution's 9 multiplies per output (a 1×1 output costs F(2×2) 16; a 1×13 row 112 against 117).
 */
export function winogradApplies(info: tf.backend_util.Conv2DInfo): boolean {
  if (
    !winogradSettings.enabled || info.filterHeight !== 3 || info.filterWidth !== 3 ||
    info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 ||
    info.dilationWidth !== 1 || info.padInfo.top < 0 || info.padInfo.left < 0 || info.batchSize <= 0 ||
    info.outHeight <= 0 || info.outWidth <= 0 ||
    Math.min(info.inChannels, info.outChannels) < winogradSettings.minChannels
  ) {
    return false;
  }
  const best = Math.min(multiplies(info, 2), multiplies(info, 3), multiplies(info, 4));
  return best <= (2 / 3) * 9 * info.outHeight * info.outWidth;
}

/** How {@linkcode winogradTile}'s tiles cover the convolution `info` describes. */
interface Tiling {
  /** Outputs per tile side. */
  m: WinogradTile;
  /** Transformed values per tile and channel pair, (m+2)². */
  planes: number;
  /**
   * Rows and columns of the padded input the Rust kernels read: whole (m+2)×(m+2) tiles, stepping
   * by m, over every output, so m·⌈oh/m⌉ + 2 rows (≥ top + h, since oh = h + top + bottom − 2) and
   * likewise columns.
   */
  hp: number;
  wp: number;
}

/** Columns per panel of U as `winograd_filter_f32` packs it (`PANEL` in `wasm/src/winograd.rs`). */
const PANEL = 8;

/** Floats in one plane of U packed as `rows` × `cols` (the last panel padded to 8 columns). */
function packedPlane(rows: number, cols: number): number {
  return rows * Math.ceil(cols / PANEL) * PANEL;
}

/** The {@linkcode Tiling} of `info`. */
function tiling(info: tf.backend_util.Conv2DInfo): Tiling {
  const m = winogradTile(info);
  const hp = m * Math.ceil(info.outHeight / m) + 2;
  const wp = m * Math.ceil(info.outWidth / m) + 2;
  return { m, planes: (m + 2) ** 2, hp, wp };
}

/**
 * Copies the input `x` of the convolution `info` describes into `dst` [b, hp, wp, ci], at its
 * padding's offset, zeros around it.
 */
function copyPadded(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dst: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  { hp, wp }: Tiling,
): void {
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: c } = info;
  const { top, left } = info.padInfo;
  // The arena is reused, so the border must be cleared every call (only the border: the rest is
  // overwritten, and clearing it too costs as much as the copy).
  const row = w * c;
  const rowP = wp * c;
  for (let bi = 0; bi < b; bi++) {
    const image = bi * hp * rowP;
    dst.fill(0, image, image + top * rowP);
    dst.fill(0, image + (top + h) * rowP, image + hp * rowP);
    for (let y = 0; y < h; y++) {
      const to = image + (y + top) * rowP;
      const from = (bi * h + y) * row;
      dst.fill(0, to, to + left * c);
      dst.set(src.subarray(from, from + row), to + left * c);
      dst.fill(0, to + left * c + row, to + rowP);
    }
  }
}

/**
 * `y = act(conv(x, filter) + bias)` for `info` (where {@linkcode winogradApplies}), with `bias` of
 * `outChannels` values or null and `relu` choosing the activation (else linear). The caller owns
 * the returned tensor.
 */
export function winogradConv2D(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | null,
  relu: boolean,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: b, inChannels: ci } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { chunk } = winogradSettings;
  const t = tiling(info);
  const { m, hp, wp, planes } = t;
  const xLen = b * hp * wp * ci;
  const yLen = b * oh * ow * co;
  const [xPtr, gPtr, uPtr, biasPtr, yPtr, scratchPtr] = arena([
    xLen * 4,
    9 * ci * co * 4,
    planes * packedPlane(ci, co) * 4,
    co * 4,
    yLen * 4,
    planes * chunk * (ci + co) * 4,
  ]);
  copyPadded(backend, x, f32(xPtr, xLen), info, t);
  f32(gPtr, 9 * ci * co).set(backend.typedArrayFromHeap(filter) as Float32Array);
  if (bias) f32(biasPtr, co).set(backend.typedArrayFromHeap(bias) as Float32Array);
  const k = winogradKernels();
  k.winograd_filter_f32(m, gPtr, uPtr, ci, co, 0);
  k.winograd_conv2d_f32(
    m,
    xPtr,
    uPtr,
    bias ? biasPtr : 0,
    yPtr,
    scratchPtr,
    b,
    hp,
    wp,
    ci,
    oh,
    ow,
    co,
    relu ? 1 : 0,
    chunk,
  );
  const out = backend.makeOutput([b, oh, ow, co], "float32");
  (backend.typedArrayFromHeap(out) as Float32Array).set(f32(yPtr, yLen));
  return out;
}

/** ∂x of the convolution `info` describes (where {@linkcode winogradApplies}); the caller owns it. */
export function winogradBackpropInput(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: ci } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { chunk } = winogradSettings;
  const { m, hp, wp, planes } = tiling(info);
  const dyLen = b * oh * ow * co;
  const dxLen = b * hp * wp * ci;
  const [dyPtr, gPtr, utPtr, dxPtr, scratchPtr] = arena([
    dyLen * 4,
    9 * ci * co * 4,
    planes * packedPlane(co, ci) * 4,
    dxLen * 4,
    planes * chunk * (ci + co) * 4,
  ]);
  f32(dyPtr, dyLen).set(backend.typedArrayFromHeap(dy) as Float32Array);
  f32(gPtr, 9 * ci * co).set(backend.typedArrayFromHeap(filter) as Float32Array);
  const k = winogradKernels();
  // ∂V = ∂M·Uᵀ streams rows of Uᵀ, so U is packed transposed, as [co, ci] planes.
  k.winograd_filter_f32(m, gPtr, utPtr, ci, co, 1);
  k.winograd_backprop_input_f32(m, dyPtr, utPtr, dxPtr, scratchPtr, b, hp, wp, ci, oh, ow, co, chunk);
  const out = backend.makeOutput([b, h, w, ci], "float32");
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const dxp = f32(dxPtr, dxLen);
  const { top, left } = info.padInfo;
  const row = w * ci;
  for (let bi = 0; bi < b; bi++) {
    for (let y = 0; y < h; y++) {
      const from = ((bi * hp + y + top) * wp + left) * ci;
      dst.set(dxp.subarray(from, from + row), (bi * h + y) * row);
    }
  }
  return out;
}

/** ∂W of the convolution `info` describes (where {@linkcode winogradApplies}); the caller owns it. */
export function winogradBackpropFilter(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: b, inChannels: ci } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { chunk } = winogradSettings;
  const t = tiling(info);
  const { m, hp, wp, planes } = t;
  const xLen = b * hp * wp * ci;
  const dyLen = b * oh * ow * co;
  const [xPtr, dyPtr, dgPtr, scratchPtr] = arena([
    xLen * 4,
    dyLen * 4,
    9 * ci * co * 4,
    planes * (ci * co + chunk * (ci + co)) * 4,
  ]);
  copyPadded(backend, x, f32(xPtr, xLen), info, t);
  f32(dyPtr, dyLen).set(backend.typedArrayFromHeap(dy) as Float32Array);
  winogradKernels().winograd_backprop_filter_f32(
    m,
    xPtr,
    dyPtr,
    dgPtr,
    scratchPtr,
    b,
    hp,
    wp,
    ci,
    oh,
    ow,
    co,
    chunk,
  );
  const out = backend.makeOutput([3, 3, ci, co], "float32");
  (backend.typedArrayFromHeap(out) as Float32Array).set(f32(dgPtr, 9 * ci * co));
  return out;
}
