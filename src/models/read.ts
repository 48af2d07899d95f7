/**
 * Reading a saved model's files — from a directory or a URL — and verifying them before anything is
 * built: `manifest.json` (when there is one) against `model.json` and the weights, `model.json`'s own
 * record of the weights, the weights' length against their specs, and the topology's structure.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { NotFoundError, readFileBytes, readUrlBytes } from "../data/files.ts";
import {
  checkRecord,
  checkTopology,
  type FileRecord,
  jsonProblem,
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  parseManifest,
} from "./integrity.ts";

/** Name of the weights file inside a model directory. */
export const WEIGHTS_FILE = "weights.bin";
/** Name of the topology/manifest file inside a model directory. */
export const MODEL_FILE = "model.json";
/** The key of this library's record in `userDefinedMetadata` (kind, config, weights). */
export const KEY = "rnnspn";

/** The weight data as one byte array. */
export function joinWeightData(data: tf.io.WeightData | undefined): Uint8Array {
  if (data == null) return new Uint8Array(0);
  return new Uint8Array(tf.io.concatenateArrayBuffers(data));
}

/** The most bytes a `model.json` may have when no manifest records its size (the largest is 10 kB). */
export const MAX_MODEL_JSON_BYTES: number = 16 * 2 ** 20;
/** The most bytes of weights a model file may claim (4 bytes for each of the most parameters a model may have). */
export const MAX_WEIGHTS_BYTES: number = 4 * 64 * 2 ** 20;

/**
 * Reads one file of a saved model by name (relative to `model.json`), at most `maxBytes` of it (a
 * larger file or response is refused before it is held); `where` names it in errors.
 */
export interface Reader {
  read(name: string, maxBytes: number): Promise<Uint8Array>;
  where(name: string): string;
}

function dirReader(dir: string): Reader {
  const where = (name: string) => (dir.endsWith("/") ? dir + name : `${dir}/${name}`);
  return { where, read: (name, maxBytes) => readFileBytes(where(name), "load model", maxBytes) };
}

/** Reads the files beside a `model.json` URL (`base`). */
export function urlReader(base: URL): Reader {
  const where = (name: string) => new URL(name, base).href;
  return { where, read: (name, maxBytes) => readUrlBytes(new URL(name, base), "load model", maxBytes) };
}

/** A weights path from a weights manifest: a plain file name beside `model.json`, nothing else. */
function weightsName(path: unknown, where: string): string {
  const name = typeof path === "string" ? path.replace(/^\.\//, "") : "";
  if (!/^[\w.-]+$/.test(name) || name === "." || name === "..") {
    throw new Error(
      `load model: ${where} names the weights file ${JSON.stringify(path)}: expected a file name`,
    );
  }
  return name;
}

/**
 * Reads and verifies a saved model through `reader`: `manifest.json` (when there is one) against
 * `model.json` and the weights, `model.json`'s own record of the weights, the weights' length against
 * the weight specs, and the topology's structure. Errors name the file and say what is wrong with it.
 * `jsonName` is the topology file's name (`model.json` unless a `file://` URL names another).
 */
export async function readArtifacts(
  reader: Reader,
  jsonName: string = MODEL_FILE,
): Promise<tf.io.ModelArtifacts> {
  const jsonWhere = reader.where(jsonName);
  let manifest: Record<string, FileRecord> | undefined;
  try {
    manifest = parseManifest(
      await reader.read(MANIFEST_FILE, MAX_MANIFEST_BYTES),
      reader.where(MANIFEST_FILE),
    ).files;
  } catch (err) {
    // Saved before manifests existed: model.json is then checked by its structure and content alone.
    const message = (err as Error).message;
    if (!(err instanceof NotFoundError)) {
      throw new Error(message.startsWith("load model: ") ? message : `load model: ${message}`);
    }
  }
  if (manifest && !manifest[jsonName]) {
    throw new Error(`load model: ${reader.where(MANIFEST_FILE)} has no ${jsonName} entry`);
  }
  // Checked against the manifest before it is parsed: a swapped or damaged file is named by its
  // size or digest, never by what its bytes look like to a JSON parser.
  const jsonBytes = await reader.read(jsonName, manifest?.[jsonName].bytes ?? MAX_MODEL_JSON_BYTES);
  if (manifest) await checkRecord(jsonBytes, manifest[jsonName], `load model: ${jsonWhere}`, MANIFEST_FILE);
  const text = new TextDecoder().decode(jsonBytes);
  let json: tf.io.ModelJSON & { rnnspn?: { weightsBytes: number; weightsSha256: string } };
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `load model: ${jsonWhere} is not valid JSON (truncated or corrupt? ${jsonBytes.byteLength} bytes): ${
        jsonProblem(err, jsonBytes)
      }`,
    );
  }
  if (
    json === null || typeof json !== "object" || json.modelTopology == null ||
    !Array.isArray(json.weightsManifest)
  ) {
    throw new Error(
      `load model: ${jsonWhere} has no modelTopology/weightsManifest: not a tfjs LayersModel file`,
    );
  }
  const groups = json.weightsManifest;
  if (!groups.every((g) => g && Array.isArray(g.paths) && Array.isArray(g.weights))) {
    throw new Error(`load model: ${jsonWhere}: every weightsManifest entry needs paths and weights arrays`);
  }
  checkTopology(json.modelTopology, `load model: ${jsonWhere}`);
  const specs = groups.flatMap((g) => g.weights);
  const names = groups.flatMap((g) => g.paths.map((p) => weightsName(p, jsonWhere)));
  // The size the specs claim bounds every read below: no weights file is held past it.
  const need = specBytes(specs, jsonWhere);
  if (need > MAX_WEIGHTS_BYTES) {
    throw new Error(
      `load model: ${jsonWhere}: its weight specs need ${need} bytes, more than the ${MAX_WEIGHTS_BYTES} ` +
        `a model may have (corrupt or edited file?)`,
    );
  }
  const parts: Uint8Array[] = [];
  for (const name of names) parts.push(await reader.read(name, manifest?.[name]?.bytes ?? need));
  const weights = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  parts.reduce((offset, p) => (weights.set(p, offset), offset + p.byteLength), 0);
  const weightsWhere = `load model: ${reader.where(names.join("+"))}`;
  const meta = (json.userDefinedMetadata as Record<string, { weights?: FileRecord }> | undefined)?.[KEY];
  const legacy = json.rnnspn;
  if (meta?.weights) await checkRecord(weights, meta.weights, weightsWhere, jsonName);
  else if (legacy) {
    await checkRecord(
      weights,
      { bytes: legacy.weightsBytes, sha256: legacy.weightsSha256 },
      weightsWhere,
      MODEL_FILE,
    );
  }
  if (manifest) {
    for (const [i, name] of names.entries()) {
      const record = manifest[name];
      if (!record) throw new Error(`load model: ${reader.where(MANIFEST_FILE)} has no ${name} entry`);
      await checkRecord(parts[i], record, `load model: ${reader.where(name)}`, MANIFEST_FILE);
    }
  }
  if (weights.byteLength !== need) {
    throw new Error(
      `${weightsWhere} has ${weights.byteLength} bytes but the weight specs in ${jsonName} need ${need}` +
        (weights.byteLength < need ? " (truncated?)" : ""),
    );
  }
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    trainingConfig: json.trainingConfig,
    userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs: specs,
    weightData: weights.buffer,
  };
}

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  float16: 2,
  uint16: 2,
  uint8: 1,
};

/** Bytes the weight specs need (quantized specs by their quantized dtype). */
export function specBytes(specs: tf.io.WeightsManifestEntry[], where: string): number {
  return specSizes(specs, where).bytes;
}

/** Elements (parameters) the weight specs hold. */
export function specElements(specs: tf.io.WeightsManifestEntry[], where: string): number {
  return specSizes(specs, where).elements;
}

function specSizes(specs: tf.io.WeightsManifestEntry[], where: string): { bytes: number; elements: number } {
  if (!Array.isArray(specs)) throw new Error(`load model: ${where}: the weight specs are not an array`);
  let total = 0;
  let elements = 0;
  for (const s of specs) {
    const dtype = s?.quantization?.dtype ?? s?.dtype;
    const size = Array.isArray(s?.shape) && s.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
      ? s.shape.reduce((a, b) => a * b, 1)
      : NaN;
    if (typeof s?.name !== "string" || !Number.isSafeInteger(size) || !(dtype in DTYPE_BYTES)) {
      throw new Error(`load model: ${where}: bad weight spec ${JSON.stringify(s)?.slice(0, 120)}`);
    }
    total += size * DTYPE_BYTES[dtype];
    elements += size;
  }
  return { bytes: total, elements };
}

/**
 * Reads and verifies a model directory (see {@linkcode fileIO}). Errors name the file and say what is
 * wrong with it.
 */
export function readModelArtifacts(
  dir: string,
  jsonName: string = MODEL_FILE,
): Promise<tf.io.ModelArtifacts> {
  return readArtifacts(dirReader(dir), jsonName);
}
