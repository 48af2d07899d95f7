/**
 * ONNX converters for tfjs-layers' own layers (by class name): convolutions, pools, dense, flatten,
 * reshape, activations, merges, batch normalisation, padding; dropout and noise layers are the
 * identity at inference. Each converter maps one applied layer (one node of the Keras graph) to ONNX
 * nodes with the same arithmetic as tfjs's inference path.
 *
 * @module
 */
import type { tf } from "../tf.ts";
import type { OnnxGraph, OnnxValue } from "./onnx_graph.ts";

/** A layer's weight, read once before conversion. */
export interface LayerWeight {
  /** tfjs shape. */
  shape: number[];
  /** Values. */
  data: Float32Array;
}

/** What a converter sees of one applied layer. */
export interface ConvertContext {
  /** The graph being built. */
  graph: OnnxGraph;
  /** The layer. */
  layer: tf.layers.Layer;
  /** `layer.getConfig()`. */
  config: tf.serialization.ConfigDict;
  /** Its inputs at this node. */
  inputs: OnnxValue[];
  /** The tfjs shapes of its outputs at this node. */
  outputShapes: (number | null)[][];
  /** `layer.getWeights()`, in order. */
  weights: LayerWeight[];
  /**
   * Converts a `LayersModel` the layer owns (a public field, e.g. a transformer's localisation
   * network) on `inputs`; returns its outputs.
   */
  subgraph(model: tf.LayersModel, inputs: OnnxValue[]): OnnxValue[];
}

/** Converts one applied layer; returns one value per layer output. */
export type LayerConverter = (ctx: ConvertContext) => OnnxValue[];

function only(ctx: ConvertContext): OnnxValue {
  if (ctx.inputs.length !== 1) fail(ctx, `expects 1 input, got ${ctx.inputs.length}`);
  return ctx.inputs[0];
}

/** Throws an error naming the layer (name and class) and what is wrong. */
export function fail(ctx: Pick<ConvertContext, "layer">, what: string): never {
  throw new Error(`exportOnnx: layer "${ctx.layer.name}" (${ctx.layer.getClassName()}): ${what}`);
}

function pair(v: unknown, what: string, ctx: ConvertContext): [number, number] {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((x) => Number.isInteger(x))) fail(ctx, `${what} ${JSON.stringify(v)}`);
  return [a[0] as number, a[1] as number];
}

function channelsLast(ctx: ConvertContext): void {
  const format = ctx.config.dataFormat;
  if (format != null && format !== "channelsLast") fail(ctx, `dataFormat ${format} (only channelsLast)`);
}

/** `Conv`/`MaxPool`/`AveragePool` padding attributes for tfjs's "valid" or "same" (TF's SAME_UPPER). */
function padding(ctx: ConvertContext): Record<string, string | number[]> {
  const p = ctx.config.padding;
  if (p === "valid") return { pads: [0, 0, 0, 0] };
  if (p === "same") return { auto_pad: "SAME_UPPER" };
  return fail(ctx, `padding ${JSON.stringify(p)} (only "valid" and "same")`);
}

/**
 * tfjs activation `name` (as `getConfig()` spells it) applied to `value`; softmax runs over the
 * last tfjs axis (channels, wherever the ONNX layout keeps them).
 */
export function activate(graph: OnnxGraph, value: OnnxValue, name: unknown, hint: string): OnnxValue {
  const unary: Record<string, string> = {
    relu: "Relu",
    sigmoid: "Sigmoid",
    tanh: "Tanh",
    softplus: "Softplus",
    softsign: "Softsign",
    elu: "Elu",
    selu: "Selu",
  };
  const wrap = (n: string) => ({ ...value, name: n });
  if (name == null || name === "linear") return value;
  if (typeof name === "string" && unary[name]) return wrap(graph.op(unary[name], [value.name], {}, hint));
  if (name === "softmax") {
    return wrap(graph.op("Softmax", [value.name], { axis: value.nchw ? 1 : -1 }, hint));
  }
  if (name === "relu6") {
    return wrap(graph.op("Clip", [value.name, graph.scalar(0), graph.scalar(6)], {}, hint));
  }
  if (name === "hardSigmoid" || name === "hard_sigmoid") {
    return wrap(graph.op("HardSigmoid", [value.name], { alpha: { float: 0.2 }, beta: { float: 0.5 } }, hint));
  }
  if (name === "swish") {
    return wrap(graph.op("Mul", [value.name, graph.op("Sigmoid", [value.name], {}, hint)], {}, hint));
  }
  throw new Error(`exportOnnx: activation ${JSON.stringify(name)} (at ${hint}) has no ONNX mapping`);
}

/** Dense: `Gemm` on [B, in]; `MatMul` + `Add` over the last axis of higher ranks. */
function dense(ctx: ConvertContext): OnnxValue[] {
  const { graph, layer, config } = ctx;
  const x = graph.plain(only(ctx));
  const [kernel, bias] = ctx.weights;
  const w = graph.float(kernel.data, kernel.shape, `${layer.name}/kernel`);
  const b = config.useBias !== false && bias
    ? graph.float(bias.data, bias.shape, `${layer.name}/bias`)
    : null;
  let y: string;
  if (x.shape.length === 2) {
    y = graph.op("Gemm", b ? [x.name, w, b] : [x.name, w], {}, layer.name);
  } else {
    y = graph.op("MatMul", [x.name, w], {}, layer.name);
    if (b) y = graph.op("Add", [y, b], {}, layer.name);
  }
  return [
    activate(graph, { name: y, shape: ctx.outputShapes[0], nchw: false }, config.activation, layer.name),
  ];
}

/** Conv2D (and this library's `FastConv2D`, which saves as one): `Conv` in NCHW with OIHW weights. */
function conv2d(ctx: ConvertContext): OnnxValue[] {
  const { graph, layer, config } = ctx;
  channelsLast(ctx);
  const x = graph.nchw(only(ctx));
  const [kernel, bias] = ctx.weights;
  const [kh, kw, cin, cout] = kernel.shape;
  // tfjs HWIO → ONNX OIHW.
  const oihw = new Float32Array(kernel.data.length);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let c = 0; c < cin; c++) {
        for (let o = 0; o < cout; o++) {
          oihw[((o * cin + c) * kh + i) * kw + j] = kernel.data[((i * kw + j) * cin + c) * cout + o];
        }
      }
    }
  }
  const inputs = [x.name, graph.float(oihw, [cout, cin, kh, kw], `${layer.name}/kernel`)];
  if (config.useBias !== false && bias) inputs.push(graph.float(bias.data, bias.shape, `${layer.name}/bias`));
  const y = graph.op("Conv", inputs, {
    kernel_shape: [kh, kw],
    strides: pair(config.strides, "strides", ctx),
    dilations: pair(config.dilationRate ?? 1, "dilationRate", ctx),
    ...padding(ctx),
  }, layer.name);
  return [
    activate(graph, { name: y, shape: ctx.outputShapes[0], nchw: true }, config.activation, layer.name),
  ];
}

function pool(op: "MaxPool" | "AveragePool"): LayerConverter {
  return (ctx) => {
    const { graph, layer, config } = ctx;
    channelsLast(ctx);
    const x = graph.nchw(only(ctx));
    const size = pair(config.poolSize, "poolSize", ctx);
    const attrs: Record<string, number | number[] | string> = {
      kernel_shape: size,
      strides: pair(config.strides ?? size, "strides", ctx),
      ...padding(ctx),
    };
    // tfjs (like TF) averages over the pixels inside the image only.
    if (op === "AveragePool") attrs.count_include_pad = 0;
    return [{ name: graph.op(op, [x.name], attrs, layer.name), shape: ctx.outputShapes[0], nchw: true }];
  };
}

function globalPool(op: "GlobalMaxPool" | "GlobalAveragePool"): LayerConverter {
  return (ctx) => {
    const { graph, layer } = ctx;
    channelsLast(ctx);
    if (ctx.config.keepDims) fail(ctx, "keepDims is not supported");
    const y = graph.op(op, [graph.nchw(only(ctx)).name], {}, layer.name); // [N, C, 1, 1]
    return [{
      name: graph.op("Flatten", [y], { axis: 1 }, layer.name),
      shape: ctx.outputShapes[0],
      nchw: false,
    }];
  };
}

/** Flatten in tfjs order (H, W, C for images: the dense weights after it expect that order). */
function flatten(ctx: ConvertContext): OnnxValue[] {
  const { graph, layer } = ctx;
  const x = graph.plain(only(ctx));
  return [{
    name: graph.op("Flatten", [x.name], { axis: 1 }, layer.name),
    shape: ctx.outputShapes[0],
    nchw: false,
  }];
}

function reshape(ctx: ConvertContext): OnnxValue[] {
  const { graph, layer } = ctx;
  const x = graph.plain(only(ctx));
  const target = ctx.config.targetShape as number[];
  // 0 copies the batch dimension (Reshape's allowzero = 0).
  const y = graph.op("Reshape", [x.name, graph.ints([0, ...target])], {}, layer.name);
  return [{ name: y, shape: ctx.outputShapes[0], nchw: false }];
}

function identity(ctx: ConvertContext): OnnxValue[] {
  return [only(ctx)];
}

function activation(ctx: ConvertContext): OnnxValue[] {
  return [activate(ctx.graph, only(ctx), ctx.config.activation, ctx.layer.name)];
}

/** Inputs in one layout: NCHW if all are, else tfjs's. */
function sameLayout(ctx: ConvertContext): OnnxValue[] {
  const allNchw = ctx.inputs.every((v) => v.nchw);
  return ctx.inputs.map((v) => allNchw ? v : ctx.graph.plain(v));
}

function merge(op: "Sum" | "Mul" | "Sub" | "Max" | "Min" | "Mean"): LayerConverter {
  return (ctx) => {
    const inputs = sameLayout(ctx);
    if (op === "Sub" && inputs.length !== 2) fail(ctx, `expects 2 inputs, got ${inputs.length}`);
    let y: string;
    if (op === "Mul") {
      y = inputs.slice(1).reduce(
        (acc, v) => ctx.graph.op("Mul", [acc, v.name], {}, ctx.layer.name),
        inputs[0].name,
      );
    } else {
      y = ctx.graph.op(op, inputs.map((v) => v.name), {}, ctx.layer.name);
    }
    return [{ name: y, shape: ctx.outputShapes[0], nchw: inputs[0].nchw }];
  };
}

function concatenate(ctx: ConvertContext): OnnxValue[] {
  const inputs = sameLayout(ctx);
  const rank = inputs[0].shape.length;
  let axis = (ctx.config.axis as number) ?? -1;
  if (axis < 0) axis += rank;
  // NCHW inputs stay so when joined along channels (axis 1 there); any other axis joins them plain.
  const nchw = inputs[0].nchw && axis === 3;
  const values = nchw ? inputs : inputs.map((v) => ctx.graph.plain(v));
  const y = ctx.graph.op("Concat", values.map((v) => v.name), { axis: nchw ? 1 : axis }, ctx.layer.name);
  return [{ name: y, shape: ctx.outputShapes[0], nchw }];
}

/** Inference-time batch normalisation over the last (channels) axis, folded into a scale and a shift. */
function batchNormalization(ctx: ConvertContext): OnnxValue[] {
  const { graph, layer, config } = ctx;
  const x = only(ctx);
  const rank = x.shape.length;
  const axis = config.axis as number;
  if (axis !== -1 && axis !== rank - 1) fail(ctx, `axis ${axis} (only the last axis)`);
  const weights = [...ctx.weights];
  const gamma = config.scale !== false ? weights.shift()!.data : null;
  const beta = config.center !== false ? weights.shift()!.data : null;
  const [mean, variance] = weights.map((w) => w.data);
  const eps = config.epsilon as number;
  const channels = mean.length;
  const scale = new Float32Array(channels), shift = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + eps);
    shift[c] = (beta ? beta[c] : 0) - mean[c] * scale[c];
  }
  const dims = x.nchw ? [channels, 1, 1] : [channels];
  const y = graph.op(
    "Add",
    [
      graph.op("Mul", [x.name, graph.float(scale, dims, `${layer.name}/scale`)], {}, layer.name),
      graph.float(shift, dims, `${layer.name}/shift`),
    ],
    {},
    layer.name,
  );
  return [{ name: y, shape: ctx.outputShapes[0], nchw: x.nchw }];
}

function zeroPadding2d(ctx: ConvertContext): OnnxValue[] {
  const { graph, layer, config } = ctx;
  channelsLast(ctx);
  const p = config.padding as number[][];
  const [[top, bottom], [left, right]] = p;
  const x = graph.nchw(only(ctx));
  const y = graph.op("Pad", [x.name, graph.ints([0, 0, top, left, 0, 0, bottom, right])], {}, layer.name);
  return [{ name: y, shape: ctx.outputShapes[0], nchw: true }];
}

/** tfjs-layers class name → converter. */
export const TFJS_LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  Dense: dense,
  Conv2D: conv2d,
  MaxPooling2D: pool("MaxPool"),
  AveragePooling2D: pool("AveragePool"),
  GlobalMaxPooling2D: globalPool("GlobalMaxPool"),
  GlobalAveragePooling2D: globalPool("GlobalAveragePool"),
  Flatten: flatten,
  Reshape: reshape,
  Activation: activation,
  ReLU: (ctx) => [activate(ctx.graph, only(ctx), "relu", ctx.layer.name)],
  Softmax: (ctx) => {
    const axis = ctx.config.axis;
    if (axis !== undefined && axis !== -1 && axis !== only(ctx).shape.length - 1) fail(ctx, `axis ${axis}`);
    return [activate(ctx.graph, only(ctx), "softmax", ctx.layer.name)];
  },
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Add: merge("Sum"),
  Multiply: merge("Mul"),
  Subtract: merge("Sub"),
  Maximum: merge("Max"),
  Minimum: merge("Min"),
  Average: merge("Mean"),
  Concatenate: concatenate,
  BatchNormalization: batchNormalization,
  ZeroPadding2D: zeroPadding2d,
};
