/**
 * examples/reproduce.ts without training (its bad flags are in cli_args_test.ts): `--list` reads each
 * row's state from its directory, a finished row is skipped, a budget smaller than an epoch stops
 * before any row starts, and a row with metrics but no checkpoint to resume from is refused rather
 * than restarted over its history.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { runExample } from "./_example.ts";

const root = new URL("..", import.meta.url).pathname;
// Absolute: the script runs in a scratch directory, and MNIST_DIR is often relative (../shared/mnist).
const mnistDir = resolve(Deno.env.get("MNIST_DIR") ?? `${root}../shared/mnist`);

function reproduce(args: string[], cwd: string, mnist = `${cwd}/no-mnist-here`) {
  return runExample("reproduce.ts", ["--results", `${cwd}/results`, ...args], cwd, { MNIST_DIR: mnist });
}

/** Runs `fn` in a fresh scratch directory, removed afterwards whatever happens. */
async function inScratch(fn: (cwd: string) => Promise<void>): Promise<void> {
  const cwd = await Deno.makeTempDir();
  try {
    await fn(cwd);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/** One epoch's metrics line, as train() writes it. */
function epoch(n: number, testError: number, seconds: number): string {
  const split = (e: number) => ({ loss: 0.1, digitError: e, sequenceError: 3 * e });
  return JSON.stringify({
    epoch: n,
    learningRate: 5e-4,
    trainLoss: 0.1,
    train: split(testError),
    valid: split(testError),
    test: split(testError),
    samplesPerSec: 1000,
    seconds,
  });
}

/** A row directory: one metrics line per test error in `errors`, and a summary with `status`. */
async function fakeRow(results: string, row: string, errors: number[], seconds: number, status: string) {
  const dir = `${results}/${row}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/metrics.jsonl`,
    errors.map((e, i) => epoch(i + 1, e, seconds)).join("\n") + "\n",
  );
  const best = errors.indexOf(Math.min(...errors));
  await Deno.writeTextFile(
    `${dir}/summary.json`,
    JSON.stringify({ row, status, epochs: errors.length, bestEpoch: best + 1, testDigitError: errors[best] }),
  );
  return dir;
}

Deno.test("reproduce.ts --list: each row's state, best error and time left come from its directory", () =>
  inScratch(async (cwd) => {
    const results = `${cwd}/results`;
    await fakeRow(results, "rnn-spn-ds4", [0.05, 0.0315], 100, "epochs");
    await fakeRow(results, "rnn-spn-ds2", [0.2, 0.1, 0.08], 120, "running");
    const r = await reproduce(["--list"], cwd);
    assert.equal(r.code, 0, r.stderr);
    const line = (row: string) => r.stdout.split("\n").find((l) => l.startsWith(`${row} `)) ?? "";
    assert.match(
      line("rnn-spn-ds4"),
      /done \(epochs\) after 2 epochs\s+best test 3\.15% \(epoch 2\)\s+left ≈ 0\.0 h$/,
    );
    // Time left: the epochs still to run at this row's own measured pace (120 s an epoch).
    const m = /epoch 3\/(\d+)\s+best test 8\.00% \(epoch 3\)\s+left ≈ (\d+\.\d) h$/.exec(line("rnn-spn-ds2"));
    assert.ok(m, line("rnn-spn-ds2"));
    assert.equal(m[2], ((Number(m[1]) - 3) * 120 / 3600).toFixed(1));
    assert.match(line("cnn"), /not started\s+left ≈ \d+\.\d h$/);
    assert.match(r.stdout, /^total\s+left ≈ \d+\.\d h on this machine$/m);
    // Listing writes nothing.
    assert.deepEqual(await entries(results), ["rnn-spn-ds2", "rnn-spn-ds4"]);
  }));

Deno.test("reproduce.ts: a corrupt summary.json or metrics.jsonl is one line naming the file, exit 1, no stack", () =>
  inScratch(async (cwd) => {
    const dir = await fakeRow(`${cwd}/results`, "rnn-spn-ds3", [0.05, 0.04], 60, "running");
    const before = await Deno.readTextFile(`${dir}/metrics.jsonl`);
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, before + '{"epoch": 3, "lea\n');
    for (
      const [file, pattern] of [
        [
          "metrics.jsonl",
          /^reproduce\.ts: .*\/rnn-spn-ds3\/metrics\.jsonl line 3 is not valid JSON \(truncated or corrupt\?/,
        ],
        [
          "summary.json",
          /^reproduce\.ts: .*\/rnn-spn-ds3\/summary\.json is not valid JSON \(truncated or corrupt\?/,
        ],
      ] as const
    ) {
      if (file === "summary.json") {
        await Deno.writeTextFile(`${dir}/metrics.jsonl`, before);
        await Deno.writeTextFile(`${dir}/summary.json`, '{"row": "rnn-spn-ds3", "sta');
      }
      const { code, stderr } = await reproduce(["--list"], cwd);
      assert.equal(code, 1, stderr);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
      assert.match(stderr, pattern);
    }
  }));

Deno.test("reproduce.ts: a finished row is skipped, and a budget under one epoch starts nothing", () =>
  inScratch(async (cwd) => {
    const results = `${cwd}/results`;
    const dir = await fakeRow(results, "rnn-spn-ds4", [0.05, 0.0315], 100, "epochs");
    const before = await Deno.readTextFile(`${dir}/summary.json`);
    const r = await reproduce(
      ["--only", "rnn-spn-ds4,rnn-spn-ds2", "--budget-minutes", "0.5"],
      cwd,
      mnistDir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^rnn-spn-ds4: done \(epochs\), skipped$/m);
    assert.match(r.stdout, /^rnn-spn-ds2: an epoch \(≈ \d+ s\) no longer fits the budget; stopping$/m);
    assert.equal(await Deno.readTextFile(`${dir}/summary.json`), before);
    assert.deepEqual(await entries(results), ["rnn-spn-ds4"]);
  }));

Deno.test("reproduce.ts: a row with metrics but no checkpoints/ is refused, not restarted over them", () =>
  inScratch(async (cwd) => {
    const dir = await fakeRow(`${cwd}/results`, "rnn-spn-ds4", [0.2, 0.1], 100, "running");
    const metrics = await Deno.readTextFile(`${dir}/metrics.jsonl`);
    const r = await reproduce(["--only", "rnn-spn-ds4", "--budget-minutes", "600"], cwd, mnistDir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /rnn-spn-ds4: .*has metrics but no checkpoints\/ to resume from; remove the row to restart it/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/metrics.jsonl`), metrics);
    assert.deepEqual(await entries(dir), ["metrics.jsonl", "summary.json"]);
  }));
