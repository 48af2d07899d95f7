/**
 * Integrity of saved model files: SHA-256 digests, the `manifest.json` that records the length and
 * SHA-256 of `model.json` and `weights.bin`, and a structural check of a LayersModel topology that runs
 * before tfjs ever deserializes one (tfjs loops forever on a functional model whose `inbound_nodes` name
 * a layer that does not exist).
 *
 * @module
 */

/** The hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Length and SHA-256 of one file. */
export interface FileRecord {
  /** Byte length. */
  bytes: number;
  /** Hex SHA-256. */
  sha256: string;
}

/** Name of the manifest file beside `model.json`. */
export const MANIFEST_FILE = "manifest.json";
/** The most bytes a manifest may have (one read never holds more; a real one has a few hundred). */
export const MAX_MANIFEST_BYTES: number = 2 ** 20;

/**
 * Why `bytes` did not parse as JSON, in one printable line: the parser's message without the quoted
 * input it may carry (raw bytes of a binary file, line breaks), plus whether the bytes look binary.
 */
export function jsonProblem(err: unknown, bytes: Uint8Array): string {
  const message = String((err as Error)?.message ?? err).split(/[,\n]/)[0];
  const head = bytes.subarray(0, 512);
  const binary = head.some((b) => b === 0 || (b < 32 && b !== 9 && b !== 10 && b !== 13));
  const printable = message.replace(/[^\x20-\x7e]/g, "?").slice(0, 80);
  return binary ? `binary data, not JSON (${printable})` : printable;
}
const MANIFEST_FORMAT = "rnnspn-manifest";

/** `manifest.json`: every other file of a saved model with its length and SHA-256. */
export interface Manifest {
  /** Always `"rnnspn-manifest"`. */
  format: typeof MANIFEST_FORMAT;
  /** Format version (1). */
  version: 1;
  /** File name → record. */
  files: Record<string, FileRecord>;
}

/** The record of `bytes`. */
export async function fileRecord(bytes: Uint8Array): Promise<FileRecord> {
  return { bytes: bytes.byteLength, sha256: await sha256Hex(bytes) };
}

/** The manifest text for `files` (name → content). */
export async function manifestFor(files: Record<string, Uint8Array | string>): Promise<string> {
  const records: Record<string, FileRecord> = {};
  for (const [name, content] of Object.entries(files)) {
    records[name] = await fileRecord(
      typeof content === "string" ? new TextEncoder().encode(content) : content,
    );
  }
  const manifest: Manifest = { format: MANIFEST_FORMAT, version: 1, files: records };
  return JSON.stringify(manifest, null, 1) + "\n";
}

/** Parses and checks the shape of a manifest; `where` names it in errors. */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new Error(`${where} is not valid JSON (truncated or corrupt?): ${jsonProblem(err, bytes)}`);
  }
  const ok = m !== null && typeof m === "object" && m.format === MANIFEST_FORMAT && m.version === 1 &&
    m.files !== null && typeof m.files === "object" &&
    Object.values(m.files).every((r) =>
      r !== null && typeof r === "object" && Number.isSafeInteger(r.bytes) && r.bytes >= 0 &&
      typeof r.sha256 === "string" && /^[0-9a-f]{64}$/.test(r.sha256)
    );
  if (!ok) {
    throw new Error(
      `${where} is not a ${MANIFEST_FORMAT} version 1 (format, version and files { name: { bytes, sha256 } }); ` +
        `corrupt?`,
    );
  }
  return m;
}

/**
 * Checks `bytes` against `record`; throws naming `where` (the file) and `source` (the record's file),
 * length first so that a truncated file says so.
 */
export async function checkRecord(
  bytes: Uint8Array,
  record: FileRecord,
  where: string,
  source: string,
): Promise<void> {
  if (bytes.byteLength !== record.bytes) {
    throw new Error(
      `${where} has ${bytes.byteLength} bytes but ${source} records ${record.bytes} (truncated?)`,
    );
  }
  const hash = await sha256Hex(bytes);
  if (hash !== record.sha256) {
    throw new Error(`${where} is corrupt: SHA-256 ${hash} != ${record.sha256} recorded in ${source}`);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The first place where `a` and `b` (plain JSON values) differ, as `path: a vs b`, or `undefined`
 * when they are equal. Object key order does not matter.
 */
export function firstDifference(a: unknown, b: unknown, path = ""): string | undefined {
  const show = (v: unknown) => {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 80 ? s.slice(0, 77) + "..." : s;
  };
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return `${path}: ${show(a)} vs ${show(b)}`;
    if (a.length !== b.length) return `${path}: ${a.length} entries vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a as object).filter((k) => (a as Record<string, Json>)[k] !== undefined);
    const kb = Object.keys(b as object).filter((k) => (b as Record<string, Json>)[k] !== undefined);
    for (const k of new Set([...ka, ...kb])) {
      const d = firstDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      );
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(a, b) || (a === 0 && b === 0) ? undefined : `${path}: ${show(a)} vs ${show(b)}`;
}

interface LayerJson {
  name?: unknown;
  class_name?: unknown;
  config?: Record<string, unknown>;
  inbound_nodes?: unknown;
}

/**
 * Structural check of a functional LayersModel topology, cheap and before tfjs sees it: layers with
 * unique string names; every `inbound_nodes` entry naming an existing node of an existing layer; no
 * cycle among the nodes; the model's inputs and outputs naming existing layers. Returns the layers by
 * name. (tfjs itself retries a node whose input layer never appears, forever.)
 */
export function checkTopology(topology: unknown, where: string): Map<string, LayerJson> {
  const t = topology as { class_name?: unknown; config?: { layers?: unknown } } | null;
  if (t === null || typeof t !== "object" || typeof t.class_name !== "string" || !t.config) {
    throw new Error(`${where}: modelTopology must be an object with class_name and config; got ${typeof t}`);
  }
  if (t.class_name === "Sequential") {
    // No node references to follow: every layer takes the previous one's output.
    const list = Array.isArray(t.config) ? t.config : t.config.layers;
    if (!Array.isArray(list)) throw new Error(`${where}: modelTopology.config.layers is not an array`);
    const layers = new Map<string, LayerJson>();
    list.forEach((layer: LayerJson, i: number) => {
      if (layer === null || typeof layer !== "object" || typeof layer.class_name !== "string") {
        throw new Error(`${where}: modelTopology.config.layers[${i}] has no class_name`);
      }
      layers.set(String(layer.config?.name ?? i), layer);
    });
    return layers;
  }
  if (t.class_name !== "Model" && t.class_name !== "Functional") {
    throw new Error(
      `${where}: modelTopology.class_name must be "Model" or "Sequential"; got ${
        JSON.stringify(t.class_name)
      }`,
    );
  }
  const cfg = t.config as { layers?: unknown; input_layers?: unknown; output_layers?: unknown };
  if (!Array.isArray(cfg.layers)) throw new Error(`${where}: modelTopology.config.layers is not an array`);
  const layers = new Map<string, LayerJson>();
  cfg.layers.forEach((layer: LayerJson, i: number) => {
    const at = `${where}: modelTopology.config.layers[${i}]`;
    if (layer === null || typeof layer !== "object" || typeof layer.name !== "string") {
      throw new Error(`${at} has no name`);
    }
    if (typeof layer.class_name !== "string") throw new Error(`${at} ("${layer.name}") has no class_name`);
    if (layers.has(layer.name)) throw new Error(`${at}: layer name "${layer.name}" appears twice`);
    if (!Array.isArray(layer.inbound_nodes)) {
      throw new Error(`${at} ("${layer.name}"): inbound_nodes is not an array`);
    }
    layers.set(layer.name, layer);
  });
  // Node (layer, i) depends on the nodes its i-th inbound_nodes entry names; an input layer has one node.
  const nodeCount = (l: LayerJson) => Math.max(1, (l.inbound_nodes as unknown[]).length);
  const deps = new Map<string, string[]>();
  for (const [name, layer] of layers) {
    (layer.inbound_nodes as unknown[]).forEach((node, i) => {
      const refs = Array.isArray(node) ? node : [node];
      deps.set(
        `${name}#${i}`,
        refs.map((ref) => {
          const [from, index] = Array.isArray(ref) ? ref : [];
          const source = typeof from === "string" ? layers.get(from) : undefined;
          if (!source || !Number.isInteger(index) || index < 0 || index >= nodeCount(source)) {
            throw new Error(
              `${where}: layer "${name}" takes its input from ${JSON.stringify(ref)}, ` +
                `which is not a node of any layer in the topology (corrupt?)`,
            );
          }
          return `${from}#${index}`;
        }),
      );
    });
  }
  const done = new Set<string>();
  const onPath = new Set<string>();
  const visit = (node: string): void => {
    if (done.has(node)) return;
    if (onPath.has(node)) throw new Error(`${where}: the topology has a cycle through layer ${node}`);
    onPath.add(node);
    for (const d of deps.get(node) ?? []) visit(d);
    onPath.delete(node);
    done.add(node);
  };
  for (const node of deps.keys()) visit(node);
  for (const key of ["input_layers", "output_layers"] as const) {
    const refs = cfg[key];
    if (!Array.isArray(refs) || refs.length === 0) {
      throw new Error(`${where}: modelTopology.config.${key} must be a non-empty array`);
    }
    for (const ref of refs) {
      if (!Array.isArray(ref) || typeof ref[0] !== "string" || !layers.has(ref[0])) {
        throw new Error(
          `${where}: modelTopology.config.${key} names ${JSON.stringify(ref)}, which is not a layer`,
        );
      }
    }
  }
  return layers;
}
