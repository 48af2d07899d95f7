/**
 * `OnnxGraph`: collects the nodes, weights and typed inputs/outputs of an ONNX graph while a model is
 * converted, and encodes the finished model with the generated protobuf code of `onnx-proto` (the
 * schema's own field numbers, no hand-written wire format).
 *
 * Values carry their tfjs (channels-last) shape and whether the ONNX tensor behind them is stored
 * channels-first: convolutions, pools and `GridSample` work in NCHW, everything else in the tfjs
 * layout, and {@linkcode OnnxGraph.nchw} / {@linkcode OnnxGraph.plain} insert the one `Transpose` a
 * layout change needs (once per value).
 *
 * @module
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
type NodeProto = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;
type AttributeProto = InstanceType<typeof onnx.AttributeProto>;

/**
 * The ONNX operator set `exportOnnx` writes (default domain): `GridSample` exists from opset 16, and
 * opset 20 renamed its modes (to "linear", "cubic"); 17 keeps PyTorch's names.
 *
 * @example
 * ```ts
 * import { ONNX_OPSET } from "@rnnspn/core";
 * console.log(`exported models need an ONNX runtime with opset ${ONNX_OPSET}`); // 17
 * ```
 */
export const ONNX_OPSET = 17;
/** IR version 8: the one opset 17 belongs to (ONNX 1.12). */
const IR_VERSION = 8;

/** A tensor in the graph being built. */
export interface OnnxValue {
  /** The ONNX value name. */
  name: string;
  /** The shape in tfjs's (channels-last) order; `null` for an unknown (batch) dimension. */
  shape: (number | null)[];
  /** True when the ONNX tensor is stored NCHW (only rank-4 values). */
  nchw: boolean;
}

/** An attribute value: integers, strings and integer lists as such; `{ float }` for a float. */
export type OnnxAttr = number | string | number[] | { float: number };

/** ONNX element types the exporter writes. */
export const FLOAT: number = onnx.TensorProto.DataType.FLOAT;
/** 64-bit integers (shapes, indices, `ArgMax`). */
export const INT64: number = onnx.TensorProto.DataType.INT64;

/** Collects a graph and encodes it; see the module doc. */
export class OnnxGraph {
  readonly #nodes: NodeProto[] = [];
  readonly #initializers: TensorProto[] = [];
  readonly #inputs: ValueInfoProto[] = [];
  readonly #outputs: ValueInfoProto[] = [];
  readonly #used = new Set<string>();
  readonly #int64Consts = new Map<string, string>();
  readonly #layoutCache = new Map<string, OnnxValue>();

  /** A fresh value name based on `hint` (tfjs names may repeat across nodes; ONNX names may not). */
  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, "_") || "v";
    let name = base;
    for (let i = 1; this.#used.has(name); i++) name = `${base}_${i}`;
    this.#used.add(name);
    return name;
  }

  /** Adds a node of `op` and returns its `outputs` fresh output names (hinted by `hint`). */
  node(
    op: string,
    inputs: string[],
    attrs: Record<string, OnnxAttr> = {},
    hint: string = op,
    outputs: number = 1,
  ): string[] {
    const names = Array.from({ length: outputs }, (_, i) => this.fresh(outputs > 1 ? `${hint}:${i}` : hint));
    this.#nodes.push(onnx.NodeProto.create({
      opType: op,
      name: this.fresh(`${hint}/${op}`),
      input: inputs,
      output: names,
      attribute: Object.entries(attrs).map(([name, value]) => attribute(name, value)),
    }));
    return names;
  }

  /** Adds a node with one output and returns it. */
  op(op: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}, hint: string = op): string {
    return this.node(op, inputs, attrs, hint)[0];
  }

  /** A float32 weight of `dims`; returns its name. */
  float(data: Float32Array, dims: number[], hint: string): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new Error(`exportOnnx: weight ${hint} has ${data.length} values for shape [${dims}]`);
    }
    const name = this.fresh(hint);
    // raw_data is little-endian by the ONNX spec: write it so on any host.
    const raw = new Uint8Array(data.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
    this.#initializers.push(onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: raw }));
    return name;
  }

  /** A float32 scalar constant. */
  scalar(value: number, hint = "scalar"): string {
    return this.float(new Float32Array([value]), [], hint);
  }

  /** An int64 vector constant (shapes, axes, sizes), shared between its uses. */
  ints(values: number[]): string {
    const key = values.join(",");
    let name = this.#int64Consts.get(key);
    if (name === undefined) {
      name = this.fresh(`const_i64_${values.join("_").replaceAll("-", "m")}`);
      this.#initializers.push(
        onnx.TensorProto.create({ name, dims: [values.length], dataType: INT64, int64Data: values }),
      );
      this.#int64Consts.set(key, name);
    }
    return name;
  }

  /**
   * Sets aside the graph's input and output names before anything else is named, so that inner
   * values (named after layers) never take them.
   */
  reserve(names: string[]): void {
    for (const name of names) {
      if (this.#used.has(name)) {
        throw new Error(`exportOnnx: two graph inputs/outputs are named ${JSON.stringify(name)}`);
      }
      this.#used.add(name);
    }
  }

  /** Declares a graph input (its name reserved) of `shape` (`null` dims become the symbol `batch`). */
  input(name: string, shape: (number | null)[]): OnnxValue {
    this.#inputs.push(valueInfo(name, FLOAT, shape, () => "batch"));
    return { name, shape, nchw: false };
  }

  /** Declares `value` a graph output named `name` (reserved), channels-last as tfjs gives it. */
  output(name: string, value: OnnxValue, type: number = FLOAT): void {
    const source = this.plain(value).name;
    this.#nodes.push(onnx.NodeProto.create({
      opType: "Identity",
      name: this.fresh(`${name}/Identity`),
      input: [source],
      output: [name],
    }));
    this.#outputs.push(valueInfo(name, type, value.shape, (i) => `${name}_dim${i}`));
  }

  /** `value` stored NCHW (a `Transpose` unless it already is). */
  nchw(value: OnnxValue): OnnxValue {
    if (value.nchw) return value;
    if (value.shape.length !== 4) {
      throw new Error(`exportOnnx: ${value.name} is rank ${value.shape.length}, not an image [N, H, W, C]`);
    }
    return this.#relayout(value, true, [0, 3, 1, 2]);
  }

  /** `value` stored in the tfjs layout (a `Transpose` if it is NCHW). */
  plain(value: OnnxValue): OnnxValue {
    return value.nchw ? this.#relayout(value, false, [0, 2, 3, 1]) : value;
  }

  #relayout(value: OnnxValue, nchw: boolean, perm: number[]): OnnxValue {
    const key = `${value.name}|${nchw}`;
    let out = this.#layoutCache.get(key);
    if (!out) {
      out = { name: this.op("Transpose", [value.name], { perm }, value.name), shape: value.shape, nchw };
      this.#layoutCache.set(key, out);
    }
    return out;
  }

  /** The encoded `ModelProto`. */
  encode(graphName: string, docString: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: "@rnnspn/core",
      docString,
      opsetImport: [{ domain: "", version: ONNX_OPSET }],
      graph: {
        name: graphName,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs,
        output: this.#outputs,
      },
    });
    const bytes = onnx.ModelProto.encode(model).finish();
    // A plain Uint8Array (protobufjs hands out a Node Buffer where one exists).
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
  }
}

function attribute(name: string, value: OnnxAttr): AttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error(`exportOnnx: attribute ${name} must be an integer`);
    return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value });
  }
  if (typeof value === "string") {
    return onnx.AttributeProto.create({
      name,
      type: AttributeType.STRING,
      s: new TextEncoder().encode(value),
    });
  }
  if (Array.isArray(value)) {
    return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: value });
  }
  return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value.float });
}

function valueInfo(
  name: string,
  elemType: number,
  shape: (number | null)[],
  symbol: (i: number) => string,
): ValueInfoProto {
  const dim = shape.map((d, i) => d == null ? { dimParam: symbol(i) } : { dimValue: d });
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType, shape: { dim } } } });
}
