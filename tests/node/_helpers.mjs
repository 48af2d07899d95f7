// Shared by the Node test group: where the Node build, the fixture and ../shared are.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);

/** The Node build (`deno task build` writes it). */
export const lib = await import(new URL("dist/node/rnnspn.js", root).href).catch((error) => {
  throw new Error(`the Node build is missing or broken: run \`deno task build\` first (${error.message})`);
});

/** Repository-relative path → absolute path. */
export function repoPath(relative) {
  return fileURLToPath(new URL(relative, root));
}

/** Deno's fixture (tests/node/fixture.ts): `name` under FIXTURE_DIR (default .ci/out/fixture). */
export async function fixture(name) {
  const dir = process.env.FIXTURE_DIR ?? repoPath(".ci/out/fixture");
  const path = `${dir}/${name}`;
  try {
    return name.endsWith(".json") ? JSON.parse(await readFile(path, "utf8")) : path;
  } catch (error) {
    throw new Error(
      `fixture ${path} missing: run \`deno run -A tests/node/fixture.ts\` first (${error.message})`,
    );
  }
}

/** The PyTorch golden cases of the sampler. */
export async function goldenCases() {
  const shared = process.env.RNNSPN_SHARED ?? repoPath("../shared");
  return JSON.parse(await readFile(`${shared}/golden/grid_sample.json`, "utf8")).cases;
}

/** Max-abs error and the suite's tolerance 1e-4 · max(1, max|reference|). */
export function compare(actual, expected) {
  let err = 0, scale = 1;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (actual.length !== expected.length) err = Infinity;
  return { err, tol: 1e-4 * scale };
}
