/**
 * Turning verified artifacts back into a model without letting tfjs deserialize the file's topology:
 * the model is rebuilt from its saved kind and config (the config checked like any constructor's), the
 * file's topology must equal the rebuilt one exactly, and the weights are set by name and shape. The
 * config fields that size the weights are compared with the topology before anything is built, so a
 * file whose metadata disagrees with its topology is refused in milliseconds and cannot make the
 * rebuild allocate what the file never held.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { METADATA_KEY, type ModelKind, type SequenceModel } from "./base.ts";
import { checkTopology, firstDifference } from "./integrity.ts";
import { describeSource, loadArtifacts, type ModelSource, specBytes, specElements } from "./io.ts";

/** Reads `config[key]` (or `config[key][index]`) of the layer `layer`; `absent` when there is no such layer. */
export type TopologyReader = (layer: string, key: string, index?: number, absent?: unknown) => unknown;

/** How to rebuild one kind of model. */
export interface ModelFactory<M extends SequenceModel<object>> {
  /** The kind this factory builds. */
  kind: ModelKind;
  /** A fresh model of this config (the constructor; it validates the config). */
  create(config: Record<string, unknown>): M;
  /** The config fields that size the weights, as the topology states them. */
  sizes(read: TopologyReader): Record<string, unknown>;
  /** The parameter count of `config`, computed from it alone (nothing built); throws on a bad config. */
  paramCount(config: Record<string, unknown>): number;
}

/**
 * Loads the model at `source` (a directory, a URL or a tfjs IOHandler) with one of `factories`;
 * `expected`, when given, is the only kind accepted.
 */
export async function loadSaved<M extends SequenceModel<object>>(
  source: ModelSource,
  factories: readonly ModelFactory<M>[],
  expected?: ModelKind,
): Promise<M> {
  checkSource(source);
  const artifacts = await loadArtifacts(source);
  return restoreModel(artifacts, describeSource(source), factories, expected);
}

/** Throws unless `source` is a string, a URL or an object (an IOHandler). */
export function checkSource(source: ModelSource): void {
  if (source == null || (typeof source !== "string" && typeof source !== "object")) {
    throw new Error(
      `load: source must be a directory path, a URL or a tf.io.IOHandler; got ${
        source === null ? "null" : typeof source
      }`,
    );
  }
}

/** Rebuilds a model from verified `artifacts`; `where` names the source in errors. */
export function restoreModel<M extends SequenceModel<object>>(
  artifacts: tf.io.ModelArtifacts,
  where: string,
  factories: readonly ModelFactory<M>[],
  expected?: ModelKind,
): M {
  const layers = checkTopology(artifacts.modelTopology, `load: ${where}`);
  const meta =
    (artifacts.userDefinedMetadata as Record<string, { kind?: unknown; config?: unknown }> | undefined)
      ?.[METADATA_KEY];
  const config = meta?.config as Record<string, unknown> | undefined;
  if (
    typeof meta?.kind !== "string" || config === null || typeof config !== "object" || Array.isArray(config)
  ) {
    throw new Error(
      `load: ${where.endsWith(".json") ? where : `${where}/model.json`} has no "${METADATA_KEY}" metadata ` +
        `(kind and config): not saved by @rnnspn/core`,
    );
  }
  if (expected && meta.kind !== expected) {
    throw new Error(`load: ${where} holds a "${meta.kind}" model, not "${expected}"`);
  }
  const factory = factories.find((f) => f.kind === meta.kind);
  if (!factory) {
    throw new Error(
      `load: ${where} holds an unknown model kind ${JSON.stringify(meta.kind)}; expected one of ${
        factories.map((f) => f.kind).join(", ")
      }`,
    );
  }
  const read: TopologyReader = (name, key, index, absent) => {
    const layer = layers.get(name);
    if (!layer) return absent;
    const value = layer.config?.[key];
    return index === undefined ? value : Array.isArray(value) ? value[index] : undefined;
  };
  const filled: Record<string, unknown> = { ...config };
  for (const [key, inTopology] of Object.entries(factory.sizes(read))) {
    // A field the metadata lacks (a file older than the field) is what the topology says, not
    // whatever the default is now.
    if (config[key] === undefined) filled[key] = inTopology;
    else if (firstDifference(config[key], inTopology) !== undefined) {
      throw new Error(
        `load: ${where}: its metadata says ${key} ${JSON.stringify(config[key])} but its topology has ` +
          `${JSON.stringify(inTopology)}: metadata and topology disagree (corrupt or edited file)`,
      );
    }
  }
  // The weights' size was verified against their files; the config must ask for exactly that many
  // parameters before anything is built, so that no edited config can make the rebuild allocate more.
  let params: number;
  let model: M;
  try {
    params = factory.paramCount(filled);
  } catch (err) {
    throw new Error(`load: ${where}: the saved config is not valid: ${(err as Error).message}`);
  }
  const saved = specElements(artifacts.weightSpecs ?? [], where);
  if (params !== saved) {
    throw new Error(
      `load: ${where}: its config describes a ${meta.kind} model of ${params} parameters but its weights ` +
        `hold ${saved}: corrupt or edited file`,
    );
  }
  try {
    model = factory.create(filled);
  } catch (err) {
    throw new Error(`load: ${where}: the saved config is not valid: ${(err as Error).message}`);
  }
  try {
    const built = JSON.parse(JSON.stringify(model.model.toJSON(null, false)));
    const saved = artifacts.modelTopology as { class_name: string; config: unknown };
    const diff = firstDifference(
      { class_name: saved.class_name, config: saved.config },
      { class_name: built.class_name, config: built.config },
    );
    if (diff) {
      throw new Error(
        `load: ${where}: its topology is not that of a ${meta.kind} model with its saved config ` +
          `(file vs rebuilt at modelTopology.${diff}): corrupt or edited file`,
      );
    }
    setWeights(model.model, artifacts, where);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/** Sets `model`'s weights from `artifacts` after checking that their names, shapes and dtypes match. */
function setWeights(model: tf.LayersModel, artifacts: tf.io.ModelArtifacts, where: string): void {
  const specs = artifacts.weightSpecs ?? [];
  const vars = model.weights;
  if (specs.length !== vars.length) {
    throw new Error(`load: ${where}: ${specs.length} weights saved, the model has ${vars.length}`);
  }
  specs.forEach((s, i) => {
    const v = vars[i];
    if (s.name !== v.originalName || s.dtype !== "float32" || firstDifference(s.shape, v.shape)) {
      throw new Error(
        `load: ${where}: weight ${i} is ${s.name} [${s.shape}] ${s.dtype}; the model expects ` +
          `${v.originalName} [${v.shape}] float32`,
      );
    }
  });
  const data = tf.io.concatenateArrayBuffers(artifacts.weightData ?? new ArrayBuffer(0));
  const need = specBytes(specs, where);
  if (data.byteLength !== need) {
    throw new Error(`load: ${where}: the weights have ${data.byteLength} bytes, their specs need ${need}`);
  }
  const decoded = tf.io.decodeWeights(data, specs);
  const values = specs.map((s) => decoded[s.name]);
  try {
    model.setWeights(values);
  } finally {
    tf.dispose(Object.values(decoded));
  }
}
