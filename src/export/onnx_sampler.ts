/**
 * The spatial-transformer sampler in ONNX: the affine (or projective) grid as a `MatMul` of the
 * constant base grid with θ, then `GridSample` (opset 16) with the sampler's options mapped 1:1 —
 * `mode` → `mode`, `paddingMode` → `padding_mode`, `alignCorners` → `align_corners`. Converters for
 * the `Glimpses` layer (k glimpses per image) and the `SpatialTransformer` layer (`[image, theta]`).
 *
 * @module
 */
import { tf } from "../tf.ts";
import { baseCoords } from "../kernels/cpu/spatial_transform_common.ts";
import { resolveSpatialTransformAttrs, type SpatialTransformOptions } from "../ops/spatial_transform.ts";
import type { OnnxGraph, OnnxValue } from "./onnx_graph.ts";
import { type ConvertContext, fail, type LayerConverter } from "./onnx_layers.ts";

/** `GridSample`'s modes and padding modes (opset 16–19 spelling, which is PyTorch's). */
const MODES = ["bilinear", "nearest", "bicubic"];
const PADDING_MODES = ["zeros", "border", "reflection"];

/** The sampler options `GridSample` needs, resolved as `spatialTransform` resolves them. */
export interface SamplerAttrs {
  outHeight: number;
  outWidth: number;
  alignCorners: boolean;
  paddingMode: string;
  mode: string;
}

function samplerAttrs(ctx: ConvertContext, image: OnnxValue, options: SpatialTransformOptions): SamplerAttrs {
  const [, height, width] = image.shape;
  if (height == null || width == null) fail(ctx, "the image's height and width must be known");
  // The same resolution (and checks) as the library's sampler; `mode` comes with the sampler modes
  // where the options have it, and is "bilinear" otherwise.
  const attrs = resolveSpatialTransformAttrs(height, width, options, "exportOnnx") as
    & ReturnType<typeof resolveSpatialTransformAttrs>
    & { mode?: string };
  const mode = attrs.mode ?? "bilinear";
  if (!MODES.includes(mode)) fail(ctx, `sampling mode ${JSON.stringify(mode)} has no GridSample mapping`);
  if (!PADDING_MODES.includes(attrs.paddingMode)) {
    fail(ctx, `padding mode ${JSON.stringify(attrs.paddingMode)} has no GridSample mapping`);
  }
  return { ...attrs, mode };
}

/**
 * Samples `image` `[N, H, W, C]` through θ (`params` = 6 or 9 values a row, `M = k·N` rows, row `m`
 * reading image `floor(m / k)`); `k` is the static number of glimpses per image, `null` if unknown.
 * Returns `[M, h, w, C]` (stored NCHW).
 */
export function sample(
  graph: OnnxGraph,
  image: OnnxValue,
  theta: OnnxValue,
  params: 6 | 9,
  k: number | null,
  attrs: SamplerAttrs,
  hint: string,
  outShape: (number | null)[],
): OnnxValue {
  const { outHeight: h, outWidth: w, alignCorners } = attrs;
  // Base grid rows (x_j, y_i, 1), x along the width: the library's coordinates (baseCoords).
  const xs = baseCoords(w, alignCorners), ys = baseCoords(h, alignCorners);
  const base = new Float32Array(h * w * 3);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) base.set([xs[j], ys[i], 1], (i * w + j) * 3);
  }
  const rowsOf = params / 3;
  // θ as [M, rows, 3], transposed to [M, 3, rows]: [h·w, 3] @ [M, 3, rows] → [M, h·w, rows].
  const t = graph.op("Reshape", [graph.plain(theta).name, graph.ints([-1, rowsOf, 3])], {}, hint);
  const tT = graph.op("Transpose", [t], { perm: [0, 2, 1] }, hint);
  let grid = graph.op("MatMul", [graph.float(base, [h * w, 3], `${hint}/base_grid`), tT], {}, hint);
  if (params === 9) {
    // Projective: (gx, gy) = (θ·p)[0:2] / (θ·p)[2], as the library's sampler divides.
    const xy = graph.op("Slice", [grid, graph.ints([0]), graph.ints([2]), graph.ints([2])], {}, hint);
    const d = graph.op("Slice", [grid, graph.ints([2]), graph.ints([3]), graph.ints([2])], {}, hint);
    grid = graph.op("Div", [xy, d], {}, hint);
  }
  const x = graph.nchw(image).name;
  const gridSample = (g: string) =>
    graph.op("GridSample", [x, g], {
      align_corners: alignCorners ? 1 : 0,
      mode: attrs.mode,
      padding_mode: attrs.paddingMode,
    }, hint);
  let y: string;
  if (k === 1) {
    y = gridSample(graph.op("Reshape", [grid, graph.ints([0, h, w, 2])], {}, hint));
  } else {
    // GridSample reads input row n for grid row n. Rather than repeat each image k times, stack
    // its k grids along the height ([N, k·h, w, 2]: row m = n·k + s is image n's s-th), sample
    // once, and unstack: [N, C, k·h, w] → [N, C, k, h, w] → [N, k, C, h, w] → [N·k, C, h, w].
    // Unknown k (a SpatialTransformer's M = k·N) takes N from the image's shape at run time.
    const c = image.shape[3]!;
    let stackedShape: string;
    if (k !== null) {
      stackedShape = graph.ints([-1, k * h, w, 2]);
    } else {
      const n = graph.op("Shape", [x], { start: 0, end: 1 }, hint);
      stackedShape = graph.op("Concat", [n, graph.ints([-1, w, 2])], { axis: 0 }, hint);
    }
    const stacked = gridSample(graph.op("Reshape", [grid, stackedShape], {}, hint));
    const split = graph.op("Reshape", [stacked, graph.ints([0, c, -1, h, w])], {}, hint);
    const moved = graph.op("Transpose", [split], { perm: [0, 2, 1, 3, 4] }, hint);
    y = graph.op("Reshape", [moved, graph.ints([-1, c, h, w])], {}, hint);
  }
  return { name: y, shape: outShape, nchw: true };
}

/** θ's parameters per row from its tfjs shape (after the batch axis): `[6]`, `[2, 3]`, `[9]`, `[3, 3]`. */
function thetaParams(ctx: ConvertContext, theta: OnnxValue, perRow: (number | null)[]): 6 | 9 {
  const n = perRow.reduce<number | null>((a, b) => a == null || b == null ? null : a * b, 1);
  if (n !== 6 && n !== 9) {
    fail(ctx, `θ of shape ${JSON.stringify(theta.shape)} is neither affine nor projective`);
  }
  return n;
}

/** The `Glimpses` layer: `[image [B, H, W, C], θ [B, k, P] or [B, P]]` → `[B·k, h, w, C]`. */
const glimpses: LayerConverter = (ctx) => {
  const [image, theta] = ctx.inputs;
  const options = (ctx.layer as unknown as { options: SpatialTransformOptions }).options;
  // Glimpses.call reads [B, P] as one glimpse per image and [B, k, P] as k of them.
  if (theta.shape.length !== 2 && theta.shape.length !== 3) fail(ctx, `θ must be [B, P] or [B, k, P]`);
  const k = theta.shape.length === 3 ? theta.shape[1] : 1;
  const params = thetaParams(ctx, theta, theta.shape.slice(theta.shape.length - 1));
  const attrs = samplerAttrs(ctx, image, options);
  return [sample(ctx.graph, image, theta, params, k, attrs, ctx.layer.name, ctx.outputShapes[0])];
};

/**
 * The `SpatialTransformer` layer: `[image [N, H, W, C], θ [M, P] or [M, 2|3, 3]]` → `[M, h, w, C]`;
 * or, when it owns a localisation network (its `localization` model), the image alone, θ being
 * that network's output on it.
 */
const spatialTransformer: LayerConverter = (ctx) => {
  const localization = (ctx.layer as unknown as { localization?: unknown }).localization;
  const owned = localization instanceof tf.LayersModel;
  if (ctx.inputs.length !== (owned ? 1 : 2)) {
    fail(ctx, `expects ${owned ? "[image]" : "[image, theta]"}, got ${ctx.inputs.length} inputs`);
  }
  const image = ctx.inputs[0];
  const theta = owned ? ctx.subgraph(localization, [image])[0] : ctx.inputs[1];
  const options = (ctx.layer as unknown as { options: SpatialTransformOptions }).options;
  const params = thetaParams(ctx, theta, theta.shape.slice(1));
  const attrs = samplerAttrs(ctx, image, options);
  // M = k·N: k is known only when both batch sizes are.
  const [n, m] = [image.shape[0], theta.shape[0]];
  const k = n != null && m != null ? m / n : null;
  return [sample(ctx.graph, image, theta, params, k, attrs, ctx.layer.name, ctx.outputShapes[0])];
};

/** This library's sampler layers, by tfjs class name. */
export const SAMPLER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  RnnspnGlimpses: glimpses,
  RnnspnSpatialTransformer: spatialTransformer,
};
