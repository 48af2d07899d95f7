/** Small model configs and helpers shared by the model, training and checkpoint tests. */
import { tf } from "../src/tf.ts";
import { type AnyModel, createModel, type ModelKind } from "../mod.ts";

/** Reduced widths (the paper's topology, 100×100 input) so that tests train in seconds. */
export const TINY: Record<ModelKind, Record<string, number>> = {
  "rnn-spn": { locFilters: 4, gruUnits: 16, classifierFilters: 6, denseUnits: 32, downsampleFactor: 3 },
  spn: { locFilters: 4, locDenseUnits: 16, classifierFilters: 6, denseUnits: 32, downsampleFactor: 3 },
  cnn: { classifierFilters: 4, denseUnits: 16 },
};

/** A tiny model of `kind` (seeded, so two calls build the same weights). */
export function tinyModel(kind: ModelKind, seed = 3): AnyModel {
  return createModel(kind, { ...TINY[kind], seed });
}

/** The model's weights as plain arrays (backend-independent). */
export function weightArrays(model: AnyModel): Float32Array[] {
  return model.model.getWeights().map((w) => w.dataSync() as Float32Array);
}

/** Largest |a − b| over all weights. */
export function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
  }
  return m;
}

/** Copies plain-array weights into `model`. */
export function setWeightArrays(model: AnyModel, values: Float32Array[]): void {
  const shapes = model.model.getWeights().map((w) => w.shape);
  const tensors = values.map((v, i) => tf.tensor(v, shapes[i]));
  model.model.setWeights(tensors);
  tf.dispose(tensors);
}
