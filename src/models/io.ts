/**
 * Saving and loading models as standard TensorFlow.js LayersModel artifacts — `model.json` (topology +
 * weights manifest) and `weights.bin`, the files `tf.loadLayersModel` reads — plus `manifest.json`, the
 * length and SHA-256 of both. The same integrity record as checkpoints: the manifest covers `model.json`,
 * and `model.json` records the weights' length and SHA-256 in its metadata, so the weights stay covered on
 * routes that carry no manifest (IndexedDB, downloads, any tfjs IOHandler).
 *
 * Where a model goes or comes from: a directory path (Deno, Node), a `file:` URL (through the file
 * system), an `http(s):` URL (fetch; `model.json` or the directory holding it), any other URL tfjs's
 * router knows (`indexeddb://`, `localstorage://`, `downloads://`), or a `tf.io.IOHandler`.
 *
 * Saving into a directory writes only into an empty or missing one, or one that already holds a saved
 * model of this library, atomically (temp directory + rename).
 *
 * In Deno and Node, {@linkcode registerFileRouter} (run when the library is imported) gives tfjs itself
 * `file://` save and load handlers — tfjs has them only in tfjs-node — so that `model.save("file://dir")`
 * and `tf.loadLayersModel("file://dir/model.json")` work on any LayersModel.
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  fileSystem,
  fileUrlToPath,
  hasFileSystem,
  hasScheme,
  readFileBytes,
  writeDirAtomic,
} from "../data/files.ts";
import {
  checkRecord,
  checkTopology,
  type FileRecord,
  fileRecord,
  MANIFEST_FILE,
  manifestFor,
} from "./integrity.ts";
import {
  joinWeightData,
  KEY,
  MODEL_FILE,
  readArtifacts,
  readModelArtifacts,
  specBytes,
  specElements,
  urlReader,
  WEIGHTS_FILE,
} from "./read.ts";

export { MODEL_FILE, readModelArtifacts, specBytes, specElements, WEIGHTS_FILE, writeDirAtomic };

/**
 * Where a model is saved to or loaded from: a directory path (Deno, Node), a URL (`file:`, `http(s):`
 * — `model.json` or the folder holding it — or one tfjs's router knows: `indexeddb://…`,
 * `localstorage://…`, `downloads://…` for saving), or any `tf.io.IOHandler`.
 *
 * @example
 * ```ts
 * import { loadModel, type ModelSource, selectBackend } from "@rnnspn/core";
 * await selectBackend();
 * const source: ModelSource = new URL("./best/", import.meta.url); // file: in a checkout, https: on a server
 * const model = await loadModel(source);
 * await model.save("indexeddb://rnn-spn"); // in a browser
 * ```
 */
export type ModelSource = string | URL | tf.io.IOHandler;

/** Reads a file as bytes, with an error naming the file when it is missing. */
export function readBytes(path: string, what: string): Promise<Uint8Array> {
  return readFileBytes(path, what);
}

/** `artifacts` with the weights' record added to this library's metadata (when it has some). */
async function withWeightsRecord(artifacts: tf.io.ModelArtifacts): Promise<tf.io.ModelArtifacts> {
  const meta = artifacts.userDefinedMetadata as Record<string, Record<string, unknown>> | undefined;
  if (!meta?.[KEY]) return artifacts;
  const weights = await fileRecord(joinWeightData(artifacts.weightData));
  return { ...artifacts, userDefinedMetadata: { ...meta, [KEY]: { ...meta[KEY], weights } } };
}

/** The files (name → content) of a model directory for `artifacts`: model.json, weights.bin, manifest.json. */
export async function modelFiles(
  artifacts: tf.io.ModelArtifacts,
): Promise<Record<string, Uint8Array | string>> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new Error("save model: only LayersModel artifacts (JSON topology) can be saved");
  }
  const a = await withWeightsRecord(artifacts);
  const weights = joinWeightData(a.weightData);
  const json = JSON.stringify({
    modelTopology: a.modelTopology,
    format: a.format ?? "layers-model",
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy ?? null,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: a.weightSpecs ?? [] }],
    ...(a.trainingConfig ? { trainingConfig: a.trainingConfig } : {}),
    ...(a.userDefinedMetadata ? { userDefinedMetadata: a.userDefinedMetadata } : {}),
  });
  const files = { [MODEL_FILE]: json, [WEIGHTS_FILE]: weights };
  return { ...files, [MANIFEST_FILE]: await manifestFor(files) };
}

/** What `source` is, in words, for error messages. */
export function describeSource(source: ModelSource): string {
  if (typeof source === "string") return source;
  if (source instanceof URL) return source.href;
  return "the given IOHandler";
}

/** A `model.json` URL's directory, or the URL itself when it names a directory. */
function modelJsonBase(url: URL): URL {
  if (url.pathname.endsWith(".json")) return url;
  return new URL(url.pathname.endsWith("/") ? url.href : url.href + "/");
}

/** A path to a model's files as `[directory, topology file name]`: `dir/x.json` names the file, else `model.json`. */
function splitJsonPath(path: string): [string, string] {
  if (!path.endsWith(".json")) return [path, MODEL_FILE];
  const slash = path.lastIndexOf("/");
  return slash < 0 ? ["./", path] : [path.slice(0, slash + 1), path.slice(slash + 1)];
}

/**
 * The artifacts of the model at `source`, verified as far as the route allows: a path or `file:`/
 * `http(s):` URL gets the whole manifest check; other tfjs routes and IOHandlers get what the artifacts
 * carry (the weights' record, the topology's structure).
 */
export async function loadArtifacts(source: ModelSource): Promise<tf.io.ModelArtifacts> {
  if (typeof source === "string" && !hasScheme(source)) return readModelArtifacts(source);
  if (typeof source === "string" && /^(https?|file):/i.test(source)) source = new URL(source);
  if (source instanceof URL) {
    if (source.protocol === "file:") return readModelArtifacts(...splitJsonPath(fileUrlToPath(source)));
    if (source.protocol === "http:" || source.protocol === "https:") {
      return readArtifacts(urlReader(modelJsonBase(source)));
    }
    source = source.href;
  }
  let handler: tf.io.IOHandler;
  const where = describeSource(source);
  if (typeof source === "string") {
    const handlers = tf.io.getLoadHandlers(source);
    if (handlers.length !== 1) {
      throw new Error(`load model: ${handlers.length} tfjs IO handlers for ${source}; expected exactly one`);
    }
    handler = handlers[0];
  } else handler = source;
  if (typeof handler?.load !== "function") throw new Error(`load model: ${where} has no load() method`);
  const artifacts = await handler.load();
  const meta = (artifacts?.userDefinedMetadata as Record<string, { weights?: FileRecord }> | undefined)
    ?.[KEY];
  if (meta?.weights) {
    await checkRecord(
      joinWeightData(artifacts.weightData),
      meta.weights,
      `load model: ${where}: the weights`,
      "its metadata",
    );
  }
  checkTopology(artifacts?.modelTopology, `load model: ${where}`);
  return artifacts;
}

/**
 * Checks that `dir` may be written by a model save: missing, empty, or holding only a saved model of
 * this library. Anything else is refused, so that a save never deletes a user's files.
 */
export async function checkSaveDir(dir: string): Promise<void> {
  if (typeof dir !== "string" || dir.trim() === "") {
    throw new Error(`save model: the directory path is empty; nothing was written`);
  }
  const fs = await fileSystem("save model");
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat) {
    // A missing directory is created with its parents: the nearest existing one must be a directory.
    const path = await import("node:path");
    for (let up = path.dirname(dir);; up = path.dirname(up)) {
      const s = await fs.stat(up).catch(() => undefined);
      if (s && !s.isDirectory()) {
        throw new Error(
          `save model: cannot create ${dir}: ${up} is a file, not a directory; nothing was written`,
        );
      }
      if (s || up === path.dirname(up)) break;
    }
    return;
  }
  if (!stat.isDirectory()) {
    throw new Error(`save model: ${dir} exists and is not a directory; nothing was written`);
  }
  const names = await fs.readdir(dir);
  if (names.length === 0) return;
  const ours = [MODEL_FILE, WEIGHTS_FILE, MANIFEST_FILE];
  const others = names.filter((n) => !ours.includes(n));
  // Ours: only our file names, and either our manifest or (saved before manifests) our metadata.
  let saved = false;
  if (others.length === 0) {
    const read = (name: string) =>
      fs.readFile(`${dir}/${name}`, "utf8").then(JSON.parse).catch(() => undefined);
    const manifest = names.includes(MANIFEST_FILE) ? await read(MANIFEST_FILE) : undefined;
    const json = manifest ? undefined : names.includes(MODEL_FILE) ? await read(MODEL_FILE) : undefined;
    saved = manifest?.format === "rnnspn-manifest" || json?.rnnspn != null ||
      json?.userDefinedMetadata?.[KEY] != null;
  }
  if (!saved) {
    const shown = (others.length ? others : names).slice(0, 5).join(", ");
    throw new Error(
      `save model: ${dir} is not empty and does not hold a model saved by @rnnspn/core ` +
        `(it holds ${shown}${
          names.length > 5 ? ", …" : ""
        }); choose an empty or new directory. Nothing was written`,
    );
  }
}

/**
 * Writes `artifacts` into the directory `dir` (after {@linkcode checkSaveDir}, atomically) and says
 * what was written the way tfjs's own file handlers do.
 */
async function saveToDir(dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  await checkSaveDir(dir);
  await writeDirAtomic(dir, await modelFiles(artifacts));
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

/**
 * Writes `artifacts` to `target` (see the module doc for the routes); resolves to the route's
 * `SaveResult` (for a directory: tfjs's artifact sizes, as its file handlers report them).
 */
export async function saveArtifacts(
  target: ModelSource,
  artifacts: tf.io.ModelArtifacts,
): Promise<tf.io.SaveResult> {
  if (typeof target === "string" && /^file:/i.test(target)) target = new URL(target);
  if (target instanceof URL && target.protocol === "file:") target = fileUrlToPath(target);
  if (typeof target === "string" && !hasScheme(target)) return await saveToDir(target, artifacts);
  if (target instanceof URL) target = target.href;
  let handler: tf.io.IOHandler;
  if (typeof target === "string") {
    const handlers = tf.io.getSaveHandlers(target);
    if (handlers.length !== 1) {
      throw new Error(`save model: ${handlers.length} tfjs IO handlers for ${target}; expected exactly one`);
    }
    handler = handlers[0];
  } else handler = target;
  if (typeof handler?.save !== "function") {
    throw new Error(`save model: ${describeSource(target)} has no save() method`);
  }
  return await handler.save(await withWeightsRecord(artifacts));
}

/** The artifacts of `model` (what `model.save` would hand an IOHandler). */
export async function captureArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  return artifacts!;
}

/**
 * A tfjs `IOHandler` for the directory `dir`: `model.save(fileIO(dir))` writes `model.json`,
 * `weights.bin` and `manifest.json` atomically (only into an empty or missing directory, or one holding
 * a saved model); `tf.loadLayersModel(fileIO(dir))` reads and verifies them first. `dir` may also be
 * the path of the topology file (`dir/model.json`, or another `.json` name to load).
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
  const [folder, jsonName] = splitJsonPath(dir);
  return folderIO(folder, jsonName);
}

/** {@linkcode fileIO} for a directory whose topology file is `jsonName` (saving always writes model.json). */
function folderIO(dir: string, jsonName: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error("fileIO: only LayersModel artifacts (JSON topology) can be saved");
      }
      return await saveToDir(dir, artifacts);
    },
    load(): Promise<tf.io.ModelArtifacts> {
      return readModelArtifacts(dir, jsonName);
    },
  };
}

/** The scheme of a tfjs `file://` URL, whose path is what follows it (tfjs-node's reading: `file://runs/m` → `runs/m`). */
const FILE_URL = /^file:\/\//i;

/**
 * tfjs's router for `file://` URLs: the handler of {@linkcode fileIO} for the path after the scheme
 * (`file://runs/m` is relative, `file:///tmp/m` absolute, as in tfjs-node); `null` for other URLs.
 * Loading accepts `…/model.json` (or another `.json` name) or the directory; saving writes the
 * directory (`…/model.json` saves into its directory).
 *
 * @example
 * ```ts
 * import { fileRouter } from "./io.ts";
 * const handler = fileRouter("file://runs/tiny/model.json"); // fileIO("runs/tiny/model.json")
 * const artifacts = await handler?.load?.();
 * ```
 */
export function fileRouter(url: string | string[]): tf.io.IOHandler | null {
  if (typeof url !== "string" || !FILE_URL.test(url)) return null;
  const path = url.replace(FILE_URL, "");
  return path === "" ? null : fileIO(path);
}

/**
 * Registers {@linkcode fileRouter} as tfjs's `file://` save and load router, in runtimes with a file
 * system (Deno, Node) and only where tfjs has none already (tfjs-node brings its own): then
 * `model.save("file://dir")` and `tf.loadLayersModel("file://dir/model.json")` work. Runs when the
 * library is imported; calling it again does nothing.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerFileRouter } from "./io.ts";
 * registerFileRouter();
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * await model.save("file://runs/tiny");
 * const again = await tf.loadLayersModel("file://runs/tiny/model.json");
 * ```
 */
export function registerFileRouter(): void {
  if (!hasFileSystem()) return;
  // tfjs's own routers return null for URLs that are not theirs too; its IORouter type just omits it.
  const router = fileRouter as Parameters<typeof tf.io.registerSaveRouter>[0];
  if (tf.io.getSaveHandlers("file://probe").length === 0) tf.io.registerSaveRouter(router);
  if (tf.io.getLoadHandlers("file://probe/model.json").length === 0) tf.io.registerLoadRouter(router);
}
