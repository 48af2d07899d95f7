/**
 * A Node project's use of @rnnspn/core as npm installs it from `npm pack dist/node`: `tsc --strict`
 * (library declarations checked too: no skipLibCheck) must see the package's types, and the compiled
 * file must load the pretrained model with no options and read the first test sequences. The
 * `@ts-expect-error` lines fail the check if the types were missing (then everything is `any`).
 *
 * Run by .ci/run: `npm ci` here, `npm install --no-save` of the packed build, `tsc -p .`, then
 * `node out/consumer.js`.
 *
 * @module
 */
import {
  type BackendName,
  ClutteredMnist,
  loadMnist,
  loadPretrained,
  type Prediction,
  type RecurrentAttention,
  selectBackend,
  spatialTransform,
  tf,
} from "@rnnspn/core";
import process from "node:process";

const backend: BackendName = await selectBackend();
const model: RecurrentAttention = await loadPretrained();
const mnist = await loadMnist({ dir: process.env.MNIST_DIR ?? "../shared/mnist" });
const data = new ClutteredMnist(mnist, { seed: 1 });
const { images, labels } = data.batch("test", [0, 1, 2, 3]);
const prediction: Prediction = model.predict(images);
const digits: number[][] = await prediction.digits.array();
const truth: number[][] = await labels.array();
const steps: number = model.config.steps;
const saved: tf.io.SaveResult = await model.save(tf.io.withSaveHandler(async (artifacts) => ({
  modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts),
})));

/** Never called: type errors that `tsc` must report (each `@ts-expect-error` is itself an error without one). */
export async function typeErrors(): Promise<void> {
  // @ts-expect-error: the pretrained model is an RNN-SPN; its config has no such key.
  model.config.noSuchOption;
  // @ts-expect-error: spatialTransform takes tensors, not arrays.
  spatialTransform([[1]], [[1, 0, 0, 0, 1, 0]]);
  // @ts-expect-error: selectBackend knows its backends.
  await selectBackend("webgl");
}

const right = digits.flat().filter((d, i) => d === truth.flat()[i]).length;
console.log(
  `consumer: ${backend}, ${steps} steps; digits ${JSON.stringify(digits)} vs labels ${
    JSON.stringify(truth)
  } ` +
    `(${right}/${truth.flat().length} right); save() gave ${saved.modelArtifactsInfo.weightDataBytes} weight bytes`,
);
tf.dispose([images, labels, prediction.logits, prediction.probabilities, prediction.digits]);
model.dispose();
if (right < truth.flat().length - 1) process.exit(1);
