/**
 * Saving and loading models as standard TensorFlow.js LayersModel artifacts on a file system:
 * `model.json` (topology + weights manifest) and `weights.bin` — the files `tf.loadLayersModel`
 * reads in a browser from a URL.
 *
 * Writes are atomic at the directory level: everything is written into a temporary sibling
 * directory, then renamed into place, so a process killed mid-save leaves the previous directory
 * (or none), never a half-written one. `model.json` also records the weights' byte length and
 * SHA-256 (under the extra key `rnnspn`, which tfjs ignores), so a truncated or damaged weights
 * file is reported by name instead of loading garbage.
 *
 * File access goes through `node:fs/promises`, imported lazily so that importing this module in a
 * browser does no I/O and needs no Node built-ins.
 *
 * @module
 */
import { tf } from "../tf.ts";

type Fs = typeof import("node:fs/promises");
let fsPromise: Promise<Fs> | undefined;
function fs(): Promise<Fs> {
  fsPromise ??= import("node:fs/promises");
  return fsPromise;
}

/** Name of the weights file inside a model directory. */
export const WEIGHTS_FILE = "weights.bin";
/** Name of the topology/manifest file inside a model directory. */
export const MODEL_FILE = "model.json";

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

function stripSlash(dir: string): string {
  return dir.length > 1 && dir.endsWith("/") ? dir.slice(0, -1) : dir;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await (await fs()).stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `files` (name → bytes or text) as the directory `dir`, atomically: a temporary sibling is
 * filled and synced first, then renamed over `dir` (an existing `dir` is moved aside and removed).
 */
export async function writeDirAtomic(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  const f = await fs();
  dir = stripSlash(dir);
  const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = `${dir}.tmp-${suffix}`;
  await f.mkdir(tmp, { recursive: true });
  try {
    for (const [name, content] of Object.entries(files)) {
      const handle = await f.open(join(tmp, name), "w");
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    if (await exists(dir)) {
      const old = `${dir}.old-${suffix}`;
      await f.rename(dir, old);
      await f.rename(tmp, dir);
      await f.rm(old, { recursive: true, force: true });
    } else {
      await f.rename(tmp, dir);
    }
  } catch (err) {
    await f.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Reads a file as bytes, with an error naming the file when it is missing. */
export async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await (await fs()).readFile(path));
  } catch (err) {
    throw new Error(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

function joinWeightData(data: tf.io.WeightData | undefined): Uint8Array {
  if (data == null) return new Uint8Array(0);
  return new Uint8Array(tf.io.concatenateArrayBuffers(data));
}

/** The `model.json` of a LayersModel with its weights in one `weights.bin`, plus our integrity record. */
export async function modelJsonFor(
  artifacts: tf.io.ModelArtifacts,
  weights: Uint8Array,
): Promise<Record<string, unknown>> {
  return {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? "layers-model",
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    rnnspn: { weightsBytes: weights.byteLength, weightsSha256: await sha256(weights) },
  };
}

/** The files (name → content) of a model directory for `artifacts`. */
export async function modelFiles(
  artifacts: tf.io.ModelArtifacts,
): Promise<Record<string, Uint8Array | string>> {
  const weights = joinWeightData(artifacts.weightData);
  const json = await modelJsonFor(artifacts, weights);
  return { [MODEL_FILE]: JSON.stringify(json), [WEIGHTS_FILE]: weights };
}

/**
 * Reads and verifies a model directory written by {@linkcode fileIO} (or any tfjs model.json with a
 * single weights file). Errors name the file and say what is wrong with it.
 */
export async function readModelArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = join(dir, MODEL_FILE);
  const text = new TextDecoder().decode(await readBytes(jsonPath, "load model"));
  let json: tf.io.ModelJSON & { rnnspn?: { weightsBytes: number; weightsSha256: string } };
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `load model: ${jsonPath} is not valid JSON (truncated or corrupt? ${text.length} chars): ${
        (err as Error).message
      }`,
    );
  }
  if (json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new Error(
      `load model: ${jsonPath} has no modelTopology/weightsManifest: not a tfjs LayersModel file`,
    );
  }
  const specs = json.weightsManifest.flatMap((group) => group.weights);
  const paths = json.weightsManifest.flatMap((group) => group.paths);
  const parts: Uint8Array[] = [];
  for (const p of paths) parts.push(await readBytes(join(dir, p.replace(/^\.\//, "")), "load model"));
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const weights = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    weights.set(p, offset);
    offset += p.byteLength;
  }
  const weightsPath = join(dir, paths.map((p) => p.replace(/^\.\//, "")).join("+"));
  if (json.rnnspn) {
    if (total !== json.rnnspn.weightsBytes) {
      throw new Error(
        `load model: ${weightsPath} has ${total} bytes but ${MODEL_FILE} records ${json.rnnspn.weightsBytes} (truncated?)`,
      );
    }
    const hash = await sha256(weights);
    if (hash !== json.rnnspn.weightsSha256) {
      throw new Error(
        `load model: ${weightsPath} is corrupt: SHA-256 ${hash} != ${json.rnnspn.weightsSha256}`,
      );
    }
  } else {
    const need = specs.reduce(
      (n, s) =>
        n + s.shape.reduce((a, b) => a * b, 1) * (s.dtype === "float32" || s.dtype === "int32" ? 4 : 1),
      0,
    );
    if (total < need) {
      throw new Error(
        `load model: ${weightsPath} has ${total} bytes but the manifest needs ${need} (truncated?)`,
      );
    }
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

/**
 * A tfjs `IOHandler` for the directory `dir`: `model.save(fileIO(dir))` writes `model.json` +
 * `weights.bin` atomically; `tf.loadLayersModel(fileIO(dir))` reads and verifies them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fileIO } from "@rnnspn/core";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * await model.save(fileIO("runs/tiny"));
 * const again = await tf.loadLayersModel(fileIO("runs/tiny"));
 * ```
 */
export function fileIO(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error("fileIO: only LayersModel artifacts (JSON topology) can be saved");
      }
      await writeDirAtomic(dir, await modelFiles(artifacts));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: joinWeightData(artifacts.weightData).byteLength,
        },
      };
    },
    load(): Promise<tf.io.ModelArtifacts> {
      return readModelArtifacts(dir);
    },
  };
}
