/**
 * Recurrent Spatial Transformer Networks (Sønderby et al., 2015) for TensorFlow.js.
 *
 * A differentiable affine sampler with fused kernels on WebGPU, WASM (Rust SIMD128) and CPU; the
 * paper's RNN-SPN model and its CNN and CNN-SPN baselines; the cluttered MNIST sequence data set;
 * and the paper's training recipe.
 *
 * @example
 * ```ts
 * import { selectBackend } from "@rnnspn/core";
 * const backend = await selectBackend(); // "webgpu", "wasm" or "cpu"
 * ```
 *
 * @module
 */
import { registerKernels } from "./src/kernels/register.ts";
import { registerFileRouter } from "./src/models/io.ts";

registerKernels();
// `model.save("file://…")` and `tf.loadLayersModel("file://…")` in Deno and Node (tfjs has them only in tfjs-node).
registerFileRouter();

export {
  type BackendInfo,
  type BackendName,
  type BackendPreference,
  describeBackend,
  hasWebGpuAdapter,
  selectBackend,
  type SelectBackendOptions,
} from "./src/backend.ts";
export {
  type PaddingMode,
  type SampleMode,
  spatialTransform,
  type SpatialTransformOptions,
} from "./src/ops/spatial_transform.ts";
export { affineGrid } from "./src/ops/affine_grid.ts";
export {
  type Localization,
  SpatialTransformer,
  spatialTransformer,
  type SpatialTransformerArgs,
} from "./src/layers/spatial_transformer.ts";
export {
  IdentityAffine,
  identityAffine,
  IdentityProjective,
  identityProjective,
} from "./src/layers/theta_initializers.ts";
export { Glimpses, type GlimpsesArgs } from "./src/layers/glimpses.ts";
export { type GruInit, RepeatedInputGRU, type RepeatedInputGRUArgs } from "./src/layers/repeated_gru.ts";
export {
  loadMnist,
  type LoadMnistOptions,
  type Mnist,
  MNIST_FILES,
  MNIST_MIRRORS,
  type MnistSplit,
} from "./src/data/mnist.ts";
export { gunzip, type Idx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from "./src/data/idx.ts";
export {
  type BatchOptions,
  type ClutteredBatch,
  ClutteredMnist,
  type ClutteredMnistOptions,
  type ClutteredSample,
  type ClutteredSplit,
  type DigitPlacement,
  type SampleRecipe,
} from "./src/data/cluttered_mnist.ts";
export { hashWords, Xoshiro128 } from "./src/data/prng.ts";
export { type ModelKind, type ModelOutput, type Prediction, SequenceModel } from "./src/models/base.ts";
export { RecurrentAttention, type RecurrentAttentionConfig } from "./src/models/recurrent_attention.ts";
export { SpnBaseline, type SpnBaselineConfig } from "./src/models/spn_baseline.ts";
export { CnnBaseline, type CnnBaselineConfig } from "./src/models/cnn_baseline.ts";
export {
  type AnyModel,
  createModel,
  isRnnspnModel,
  type LoadedModel,
  loadModel,
  type LoadModelOptions,
  MODEL_KINDS,
} from "./src/models/load.ts";
export { loadPretrained, PRETRAINED_URL, type PretrainedOptions } from "./src/models/pretrained.ts";
export { fileIO, type ModelSource } from "./src/models/io.ts";
export { formatEpoch, train, type TrainOptions, type TrainResult } from "./src/train/train.ts";
export { type EpochMetrics, type RunState, type SplitMetrics } from "./src/train/checkpoint.ts";
export { type Batch, evaluate, type Split, type TrainingData } from "./src/train/metrics.ts";
export { type OptimizerName } from "./src/train/optimizer.ts";
export { learningRateAt, type ScheduleName, type ScheduleOptions } from "./src/train/schedule.ts";
export { clipGradients, type ClipOptions, sequenceLoss } from "./src/train/step.ts";
export { type DataParallelOptions, DataParallelStep } from "./src/train/data_parallel.ts";
export { exportOnnx, ONNX_OPSET } from "./src/export/onnx.ts";
