/**
 * Peak memory of a process given hostile input (issue #28's cases): each case runs in its own Deno
 * process under GNU time, which reports its peak resident set; every one must fail with one line well
 * under 1 GB.
 *
 *   npx -y deno@2.9.6 run -A bench/untrusted_memory.ts
 *
 * Cases: a model directory whose metadata and topology say 1e6 GRU units, or 1e8 steps (manifest
 * removed, so there is no hash to recompute); a server that streams an endless `manifest.json`; a
 * 40000×40000 PNG header given to visualize.ts; `train.ts --train-size 99999999999` and `--steps 100000`.
 *
 * @module
 */
import { encode } from "fast-png";
import { loadModel, RecurrentAttention, selectBackend } from "../mod.ts";

const root = new URL("..", import.meta.url).pathname;
// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;
const LIMIT_MB = 1024;

/** The cases run inside a child process (`--case NAME DIR`). */
async function childCase(name: string, dir: string): Promise<void> {
  await selectBackend("cpu");
  if (name === "endless-manifest") {
    const chunk = new Uint8Array(1 << 16).fill(32);
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) })),
    );
    try {
      await loadModel(`http://127.0.0.1:${server.addr.port}/m/`);
    } finally {
      await server.shutdown();
    }
  } else {
    await loadModel(`${dir}/${name}`);
  }
}

/** A saved tiny RNN-SPN in `dir/name` with `edit` applied to model.json and the manifest removed. */
async function editedModel(dir: string, name: string, edit: (json: Json) => void) {
  const model = new RecurrentAttention({ locFilters: 4, gruUnits: 16, classifierFilters: 6, denseUnits: 32 });
  await model.save(`${dir}/${name}`);
  model.dispose();
  const json = JSON.parse(await Deno.readTextFile(`${dir}/${name}/model.json`));
  edit(json);
  await Deno.writeTextFile(`${dir}/${name}/model.json`, JSON.stringify(json));
  await Deno.remove(`${dir}/${name}/manifest.json`);
}

function setLayer(json: Json, layer: string, key: string, field: string, value: number) {
  json.userDefinedMetadata.rnnspn.config[field] = value;
  json.modelTopology.config.layers.find((l: { name: string }) => l.name === layer).config[key] = value;
}

async function measure(args: string[], cwd: string): Promise<{ code: number; mb: number; line: string }> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "peak-rss-kb %M", Deno.execPath(), ...args],
    cwd,
    env: { NO_COLOR: "1", MNIST_DIR: `${cwd}/no-mnist-here` },
    stdout: "null",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim().split("\n");
  const kb = Number(/peak-rss-kb (\d+)/.exec(err.at(-1) ?? "")?.[1]);
  const line = err.filter((l) => !l.startsWith("peak-rss-kb") && !/^Command exited/.test(l))[0] ?? "";
  return { code: out.code, mb: kb / 1024, line };
}

if (Deno.args[0] === "--case") {
  try {
    await childCase(Deno.args[1], Deno.args[2]);
    console.error("loaded: the case was not refused");
    Deno.exit(3);
  } catch (err) {
    console.error((err as Error).message);
    Deno.exit(1);
  }
} else {
  await selectBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "rnnspn-untrusted-" });
  await editedModel(dir, "gru-units-1e6", (j) => setLayer(j, "loc_gru", "units", "gruUnits", 1e6));
  await editedModel(dir, "steps-1e8", (j) => setLayer(j, "logits", "steps", "steps", 1e8));
  const png = encode({ width: 1, height: 1, data: new Uint8Array([0]), channels: 1, depth: 8 }).slice();
  new DataView(png.buffer).setUint32(16, 40000);
  new DataView(png.buffer).setUint32(20, 40000);
  await Deno.writeFile(`${dir}/bomb.png`, png);
  const self = new URL(import.meta.url).pathname;
  const cases: [string, string[]][] = [
    ["gruUnits 1e6 (no manifest)", ["run", "-A", self, "--case", "gru-units-1e6", dir]],
    ["steps 1e8 (no manifest)", ["run", "-A", self, "--case", "steps-1e8", dir]],
    ["endless manifest.json over HTTP", ["run", "-A", self, "--case", "endless-manifest", dir]],
    ["visualize --image 40000×40000 PNG", [
      "run",
      "-A",
      `${root}examples/visualize.ts`,
      "--model",
      "random",
      "--backend",
      "cpu",
      "--image",
      "bomb.png",
      "--out",
      "x.png",
    ]],
    ["train.ts --train-size 99999999999", [
      "run",
      "-A",
      `${root}examples/train.ts`,
      "--train-size",
      "99999999999",
    ]],
    ["train.ts --steps 100000", ["run", "-A", `${root}examples/train.ts`, "--steps", "100000"]],
  ];
  let worst = 0;
  for (const [what, args] of cases) {
    const r = await measure(args, dir);
    worst = Math.max(worst, r.mb);
    console.log(
      `${what.padEnd(36)} exit ${r.code}  peak RSS ${r.mb.toFixed(0).padStart(5)} MB  ${
        r.line.slice(0, 110)
      }`,
    );
  }
  await Deno.remove(dir, { recursive: true });
  console.log(`largest peak RSS ${worst.toFixed(0)} MB (limit ${LIMIT_MB} MB)`);
  if (!(worst < LIMIT_MB)) Deno.exit(1);
}
