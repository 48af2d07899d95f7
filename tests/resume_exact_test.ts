/**
 * Exact resume at realistic evaluation sizes, across processes: examples/train.ts run straight
 * through against the same run killed (SIGKILL, mid-training) and resumed by a new process. Every
 * metric but the timings and every weight and optimizer file must be byte-identical.
 *
 * Evaluation sizes of 100 matter: they once sent the next step's products to another GEMM (one
 * with another summation order) in the uninterrupted process only (see OWN_GEMM_ROW_BUDGET in
 * src/kernels/wasm/batch_mat_mul.ts); sizes of 20 hid it.
 */
import assert from "node:assert/strict";

const script = new URL("../examples/train.ts", import.meta.url).pathname;
const SETUP = [
  ...["--model", "rnn-spn", "--backend", "wasm", "--batch", "20"],
  ...["--train-size", "200", "--valid-size", "100", "--test-size", "100", "--train-eval-size", "100"],
];
const EPOCHS = ["--epochs", "3"];

function train(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  });
}

async function run(args: string[]): Promise<void> {
  const out = await train(args).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** metrics.jsonl with the wall-clock fields dropped (they differ between any two runs). */
async function metricsWithoutTimings(dir: string): Promise<unknown[]> {
  const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n");
  return lines.map((line) => {
    const { seconds: _s, samplesPerSec: _r, ...rest } = JSON.parse(line);
    return rest;
  });
}

/** Every .bin file under `dir`, relative path → bytes. */
async function binaries(dir: string, rel = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(`${dir}/${rel}`)) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory) { for (const [k, v] of await binaries(dir, path)) out.set(k, v); }
    else if (entry.name.endsWith(".bin")) out.set(path, await Deno.readFile(`${dir}/${path}`));
  }
  return out;
}

Deno.test({
  name: "resume: killed mid-epoch and resumed in a new process, evaluation sizes 100: byte-identical run",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "rnnspn-resume-exact-" });
    const [straight, killed] = [`${root}/straight`, `${root}/killed`];
    await run([...SETUP, ...EPOCHS, "--out", straight]);

    // Killed once the first epoch's checkpoint is on disk, so the kill lands in epoch 2 (or its save).
    const first = train([...SETUP, ...EPOCHS, "--out", killed]).spawn();
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !(await exists(`${killed}/checkpoints/epoch-0001/manifest.json`))) {
      await new Promise((r) => setTimeout(r, 20));
    }
    first.kill("SIGKILL");
    await first.status;
    await first.stderr.cancel();
    await run(["--resume", killed]);

    assert.deepEqual(await metricsWithoutTimings(killed), await metricsWithoutTimings(straight));
    const [want, got] = [await binaries(straight), await binaries(killed)];
    assert.ok(want.has("checkpoints/epoch-0003/weights.bin"), [...want.keys()].join(", "));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [path, bytes] of want) assert.deepEqual(got.get(path), bytes, path);
    await Deno.remove(root, { recursive: true });
  },
});
