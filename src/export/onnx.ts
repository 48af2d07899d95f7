/**
 * `exportOnnx`: a model of this library, or a user's own tfjs `LayersModel` built from tfjs layers
 * and this library's spatial-transformer layers, as an ONNX model (opset 17) that ONNX Runtime (Web:
 * WASM and WebGPU; Python; native) runs: the sampler as `GridSample`, its grid as a `MatMul`, the
 * RNN-SPN's GRU unrolled over the steps.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { SequenceModel } from "../models/base.ts";
import { FLOAT, INT64, ONNX_OPSET, OnnxGraph, type OnnxValue } from "./onnx_graph.ts";
import { fail, type LayerConverter, type LayerWeight, TFJS_LAYER_CONVERTERS } from "./onnx_layers.ts";
import { RECURRENT_CONVERTERS } from "./onnx_recurrent.ts";
import { SAMPLER_CONVERTERS } from "./onnx_sampler.ts";

export { ONNX_OPSET };

/** Every layer class the exporter converts, by tfjs class name: one list. */
const CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  ...TFJS_LAYER_CONVERTERS,
  ...SAMPLER_CONVERTERS,
  ...RECURRENT_CONVERTERS,
};

/** The parts of tfjs-layers' graph records the walk reads (public fields, loosely typed there). */
interface GraphTensor {
  id: number;
  shape: (number | null)[];
  sourceLayer: tf.layers.Layer;
  nodeIndex: number;
  tensorIndex: number;
}
interface GraphNode {
  inputTensors: GraphTensor[];
  outputTensors: GraphTensor[];
}

/**
 * Exports `model` as ONNX bytes (a `ModelProto`, opset {@linkcode ONNX_OPSET}), for ONNX Runtime
 * and every other ONNX runtime with `GridSample`.
 *
 * - A {@linkcode SequenceModel} (`RecurrentAttention`, `SpnBaseline`, `CnnBaseline`, as built or as
 *   loaded, `loadPretrained()` included): input `images` float32 `[batch, H, W, 1]` (the library's
 *   layout); outputs `logits` `[batch, steps, classes]`, `probabilities` (their softmax), `digits`
 *   (int64 arg-max) and, except for the CNN, `theta` `[batch, steps, 2, 3]` (`[batch, 1, 2, 3]` for
 *   the CNN-SPN) — what `predict` returns.
 * - A `tf.LayersModel`: its inputs and outputs under their tfjs names, image tensors channels-last as
 *   in tfjs. It may hold tfjs's `dense`, `conv2d`, `maxPooling2d`, `averagePooling2d`, global pools,
 *   `flatten`, `reshape`, `activation` (and the activations of dense and conv layers), `dropout` and
 *   noise layers (the identity at inference), merges (`add`, `concatenate`, …), `batchNormalization`
 *   and `zeroPadding2d`, this library's `SpatialTransformer` (with θ as an input, or owning its
 *   localisation network) and `Glimpses`, and models (functional or `tf.sequential`) used as layers;
 *   any other layer is an error naming it. A `tf.sequential` model works as well as a functional one.
 *
 * Sampler options map to `GridSample`'s attributes one to one (`mode`, `padding_mode`,
 * `align_corners`). Weights are read from the backend (awaiting their data, so any backend works).
 *
 * @example
 * ```ts
 * import { exportOnnx, loadPretrained, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const model = await loadPretrained();
 * const bytes = await exportOnnx(model); // Uint8Array: write it to a .onnx file or hand it to ONNX Runtime
 * // With onnxruntime-web: const session = await ort.InferenceSession.create(bytes);
 * // session.run({ images: new ort.Tensor("float32", pixels, [1, 100, 100, 1]) }) → digits, probabilities, …
 * ```
 *
 * @param model one of the library's models, or a tfjs `LayersModel`.
 * @returns the ONNX model's bytes.
 */
export async function exportOnnx(model: SequenceModel<object> | tf.LayersModel): Promise<Uint8Array> {
  const sequence = model instanceof SequenceModel ? model : null;
  const layers = sequence ? sequence.model : model;
  if (!(layers instanceof tf.LayersModel)) {
    const got = model === null || typeof model !== "object"
      ? JSON.stringify(model) ?? typeof model
      : (model as object).constructor?.name;
    throw new Error(
      `exportOnnx: model must be a RecurrentAttention, SpnBaseline, CnnBaseline or tf.LayersModel; got ${got}`,
    );
  }
  const graph = new OnnxGraph();
  const names = ioNames(layers);
  graph.reserve(
    sequence ? ["images", "logits", "probabilities", "digits", "theta"] : [...names.inputs, ...names.outputs],
  );
  const values = await convert(graph, layers, sequence !== null);
  if (sequence) {
    const [logits, theta] = values;
    graph.output("logits", logits);
    const probabilities = graph.op("Softmax", [logits.name], { axis: -1 }, "probabilities");
    graph.output("probabilities", { ...logits, name: probabilities });
    const digits = graph.op("ArgMax", [logits.name], { axis: -1, keepdims: 0 }, "digits");
    graph.output("digits", { name: digits, shape: logits.shape.slice(0, -1), nchw: false }, INT64);
    if (theta) graph.output("theta", theta);
  } else {
    names.outputs.forEach((name, i) => graph.output(name, values[i], FLOAT));
  }
  const doc = sequence
    ? `${sequence.kind} ${JSON.stringify(sequence.config)}`
    : `tfjs LayersModel ${layers.name}`;
  return graph.encode(sequence ? sequence.kind : layers.name, doc);
}

/** The `LayersModel`s a layer holds in its own public fields (a localisation network, say). */
function ownedModels(layer: tf.layers.Layer): tf.LayersModel[] {
  return Object.values(layer).filter((v): v is tf.LayersModel => v instanceof tf.LayersModel);
}

/**
 * The graph's input and output names: the model's (its input and output layers' names); a
 * `tf.sequential` model, which leaves those lists empty until compiled, names them the same way.
 */
function ioNames(model: tf.LayersModel): { inputs: string[]; outputs: string[] } {
  const layerNames = (tensors: tf.SymbolicTensor[]) => tensors.map((t) => t.sourceLayer.name);
  return {
    inputs: model.inputNames.length ? model.inputNames : layerNames(model.inputs),
    outputs: model.outputNames.length ? model.outputNames : layerNames(model.outputs),
  };
}

/** Declares `model`'s inputs as graph inputs, reads every weight, and converts the graph. */
async function convert(graph: OnnxGraph, model: tf.LayersModel, sequence: boolean): Promise<OnnxValue[]> {
  const inputs = (model.inputs as unknown as GraphTensor[]).map((t, i) => {
    const shape = t.shape;
    if (shape.slice(1).some((d) => d == null)) {
      throw new Error(
        `exportOnnx: input ${ioNames(model).inputs[i]} has an unknown size after the batch axis (${
          JSON.stringify(shape)
        }); give the tf.input a full shape`,
      );
    }
    return graph.input(sequence ? "images" : ioNames(model).inputs[i], shape);
  });
  // Every weight (nested models' too) read once, up front: awaited, so no backend blocks on a
  // synchronous read, and the converters stay synchronous.
  const weights = new Map<tf.layers.Layer, LayerWeight[]>();
  const read = async (m: tf.LayersModel): Promise<void> => {
    for (const layer of m.layers) {
      if (layer instanceof tf.LayersModel) await read(layer);
      else {
        // Models a layer owns (its public fields) are converted by its converter: read them too.
        for (const owned of ownedModels(layer)) await read(owned);
        weights.set(
          layer,
          await Promise.all(
            layer.getWeights().map(async (w) => ({ shape: w.shape, data: await w.data() as Float32Array })),
          ),
        );
      }
    }
  };
  await read(model);
  return convertGraph(graph, model, inputs, weights);
}

/**
 * Converts every layer that `model`'s outputs depend on, inputs first, with `inputs` standing for
 * its inputs; returns its output values. A model used as a layer inside it is converted the same way.
 */
function convertGraph(
  graph: OnnxGraph,
  model: tf.LayersModel,
  inputs: OnnxValue[],
  weights: Map<tf.layers.Layer, LayerWeight[]>,
): OnnxValue[] {
  const memo = new Map<number, OnnxValue>();
  (model.inputs as unknown as GraphTensor[]).forEach((t, i) => memo.set(t.id, inputs[i]));
  const resolve = (tensor: GraphTensor): OnnxValue => {
    const known = memo.get(tensor.id);
    if (known) return known;
    const layer = tensor.sourceLayer;
    const node = (layer as unknown as { inboundNodes: GraphNode[] }).inboundNodes[tensor.nodeIndex];
    const values = node.inputTensors.map(resolve);
    let outputs: OnnxValue[];
    if (layer instanceof tf.LayersModel) {
      // A nested model (functional or sequential): its own graph, on these values.
      outputs = convertGraph(graph, layer, values, weights);
    } else {
      const className = layer.getClassName();
      const converter = Object.hasOwn(CONVERTERS, className) ? CONVERTERS[className] : undefined;
      if (!converter) {
        fail(
          { layer },
          `no ONNX converter for this layer class; supported: ${Object.keys(CONVERTERS).sort().join(", ")}`,
        );
      }
      outputs = converter({
        graph,
        layer,
        config: layer.getConfig(),
        inputs: values,
        outputShapes: node.outputTensors.map((t) => t.shape),
        weights: weights.get(layer) ?? [],
        subgraph: (owned, inputs) => {
          if (!ownedModels(layer).includes(owned)) {
            fail({ layer }, "subgraph: the model is not one of the layer's");
          }
          return convertGraph(graph, owned, inputs, weights);
        },
      });
    }
    node.outputTensors.forEach((t, i) => memo.set(t.id, outputs[i]));
    return outputs[tensor.tensorIndex];
  };
  return (model.outputs as unknown as GraphTensor[]).map(resolve);
}
