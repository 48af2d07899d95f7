/**
 * examples/train.ts, examples/evaluate.ts and examples/reproduce.ts: every bad flag value is one line
 * on stderr naming the flag, what was expected and what was seen, exit code 2, before MNIST is loaded
 * or anything is written (MNIST_DIR points nowhere, and the working directory stays empty).
 */
import assert from "node:assert/strict";
import { runExample } from "./_example.ts";

function run(script: string, args: string[], cwd: string) {
  return runExample(script, args, cwd, { MNIST_DIR: `${cwd}/no-mnist-here` });
}

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    names.push(e.name);
    if (e.isDirectory) names.push(...(await listing(`${dir}/${e.name}`)).map((n) => `${e.name}/${n}`));
  }
  return names.sort();
}

/** A fake finished run: enough for the CLI's checks, which run before anything is loaded. */
async function fakeRun(dir: string, runJson: string): Promise<void> {
  await Deno.mkdir(`${dir}/checkpoints`, { recursive: true });
  await Deno.mkdir(`${dir}/best`);
  await Deno.writeTextFile(`${dir}/best/model.json`, "{}");
  await Deno.writeTextFile(`${dir}/run.json`, runJson);
}

const RUN_JSON = JSON.stringify({
  model: "cnn",
  modelConfig: { seed: 1, dropout: 0, digits: 3 },
  data: { seed: 1, sizes: { train: 32, valid: 16, test: 16 } },
  train: {
    epochs: 1,
    batchSize: 16,
    learningRate: 5e-4,
    optimizer: "rmsprop",
    schedule: "paper",
    patience: 50,
    trainEvalSize: 16,
  },
});

/** [script, args (`$D` is the working dir), expected stderr]. */
const CASES: [string, string[], RegExp][] = [
  ["train.ts", ["--batch", "0"], /^train\.ts: --batch must be an integer >= 1; got "0"$/],
  ["train.ts", ["--epochs=-1"], /^train\.ts: --epochs must be an integer >= 1; got "-1"$/],
  ["train.ts", ["--epochs", "-1"], /^train\.ts: --epochs must be an integer >= 1; got "-1"$/],
  ["train.ts", ["--epochs", "1.5"], /^train\.ts: --epochs must be an integer >= 1; got "1\.5"$/],
  ["train.ts", ["--workers", "0"], /^train\.ts: --workers must be an integer >= 1 .*got "0"$/],
  ["train.ts", ["--dropout", "1.5"], /^train\.ts: --dropout must be a number >= 0 and < 1; got "1\.5"$/],
  ["train.ts", ["--lr", "0"], /^train\.ts: --lr must be a number > 0; got "0"$/],
  ["train.ts", ["--lr", "fast"], /^train\.ts: --lr must be a number > 0; got "fast"$/],
  ["train.ts", ["--lr"], /^train\.ts: Option '--lr <value>' argument missing$/],
  ["train.ts", ["--model", "big"], /^train\.ts: --model must be one of rnn-spn, spn, cnn; got "big"$/],
  ["train.ts", ["--optimizer", "sgd"], /^train\.ts: --optimizer must be one of rmsprop, adam; got "sgd"$/],
  ["train.ts", ["--backend", "gpu"], /^train\.ts: --backend must be one of wasm, cpu, webgpu; got "gpu"$/],
  ["train.ts", ["--steps", "0"], /^train\.ts: --steps must be an integer >= 1 and <= 64; got "0"$/],
  // Sizes past what memory holds: refused before run.json is written (were: allocation failures after).
  ["train.ts", ["--steps", "100000"], /^train\.ts: --steps must be an integer >= 1 and <= 64; got "100000"$/],
  [
    "train.ts",
    ["--train-size", "99999999999"],
    /^train\.ts: --train-size must be <= 4294967295; got 99999999999$/,
  ],
  [
    "train.ts",
    ["--batch", "4000000", "--out", "$D/new"],
    /^train\.ts: --batch 4000000 needs about 320 GB of memory, more than a quarter of this machine's .*; nothing was written$/,
  ],
  [
    "train.ts",
    ["--resume", "$D/huge"],
    /^train\.ts: --resume .*\/huge: .*\/huge\/run\.json: data\.sizes\.valid must be <= 4294967295; got 99999999999$/,
  ],
  ["train.ts", ["--train-size", "-5"], /^train\.ts: --train-size must be an integer >= 1; got "-5"$/],
  ["train.ts", ["--frobnicate"], /^train\.ts: Unknown option '--frobnicate'/],
  ["train.ts", ["--workers", "2", "--micro-batch", "4"], /^train\.ts: --workers 2 does not combine with/],
  ["train.ts", ["--out", "$D/file"], /^train\.ts: --out .*\/file is a file, not a directory$/],
  [
    "train.ts",
    ["--out", "$D/run"],
    /^train\.ts: --out .*\/run already holds a run \(.*run\.json\); use --resume .*\/run to continue it or --overwrite/,
  ],
  ["train.ts", ["--resume", "$D/missing"], /^train\.ts: --resume .*\/missing: no such directory$/],
  ["train.ts", ["--resume", "$D/file"], /^train\.ts: --resume .*\/file: not a directory$/],
  [
    "train.ts",
    ["--resume", "$D/empty"],
    /^train\.ts: --resume .*\/empty: cannot read .*run\.json .*not a run/,
  ],
  [
    "train.ts",
    ["--resume", "$D/truncated"],
    /^train\.ts: --resume .*\/truncated: .*run\.json is not valid JSON \(truncated\?\)/,
  ],
  [
    "train.ts",
    ["--resume", "$D/foreign"],
    /^train\.ts: --resume .*\/foreign: .*run\.json is not a run\.json of this script \(bad model, /,
  ],
  [
    "train.ts",
    ["--resume", "$D/run", "--batch", "8", "--model", "spn"],
    /^train\.ts: --batch, --model cannot be given with --resume: the run in .*\/run fixed its setup/,
  ],
  [
    "train.ts",
    ["--resume", "$D/run", "--epochs", "0"],
    /^train\.ts: --epochs must be an integer >= 1; got "0"$/,
  ],
  ["evaluate.ts", ["--size", "0", "$D/run"], /^evaluate\.ts: --size must be an integer >= 1; got "0"$/],
  ["evaluate.ts", ["--batch", "-1", "$D/run"], /^evaluate\.ts: --batch must be an integer >= 1; got "-1"$/],
  ["evaluate.ts", ["--split", "dev", "$D/run"], /^evaluate\.ts: --split must be one of train, valid, test/],
  ["evaluate.ts", ["$D/missing"], /^evaluate\.ts: .*\/missing is neither a model directory .*nor a run/],
  ["evaluate.ts", [], /^evaluate\.ts: expected one model or run directory DIR; got 0/],
  [
    "evaluate.ts",
    ["$D/truncated"],
    /^evaluate\.ts: .*\/truncated\/run\.json is not a readable run\.json \(truncated\?\)/,
  ],
  [
    "reproduce.ts",
    ["--only", "rnn-spn-ds9"],
    /^reproduce\.ts: --only: unknown row "rnn-spn-ds9"; the rows are rnn-spn-ds3, /,
  ],
  [
    "reproduce.ts",
    ["--budget-minutes", "0"],
    /^reproduce\.ts: --budget-minutes must be a number > 0; got "0"$/,
  ],
  [
    "reproduce.ts",
    ["--budget-minutes", "-5"],
    /^reproduce\.ts: --budget-minutes must be a number > 0; got "-5"$/,
  ],
  [
    "reproduce.ts",
    ["--budget-minutes", "soon"],
    /^reproduce\.ts: --budget-minutes must be a number > 0; got "soon"$/,
  ],
  ["reproduce.ts", ["--workers", "1.5"], /^reproduce\.ts: --workers must be an integer >= 1; got "1\.5"$/],
  ["reproduce.ts", ["--bogus"], /^reproduce\.ts: Unknown option '--bogus'/],
  ["reproduce.ts", ["--only"], /^reproduce\.ts: Option '--only <value>' argument missing/],
];

Deno.test("CLI: bad flag values are one line naming the flag, exit code 2, nothing loaded or written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnspn-cli-" });
  await Deno.writeTextFile(`${dir}/file`, "x");
  await Deno.mkdir(`${dir}/empty`);
  await fakeRun(`${dir}/run`, RUN_JSON);
  await fakeRun(`${dir}/truncated`, RUN_JSON.slice(0, 40));
  await fakeRun(`${dir}/foreign`, JSON.stringify({ model: "resnet", data: {} }));
  await fakeRun(`${dir}/huge`, RUN_JSON.replace('"valid":16', '"valid":99999999999'));
  const before = await listing(dir);
  // Two at a time: each starts a Deno process that imports tfjs.
  const results: { code: number; stderr: string }[] = [];
  for (let i = 0; i < CASES.length; i += 2) {
    results.push(
      ...(await Promise.all(
        CASES.slice(i, i + 2).map(([script, args]) =>
          run(script, args.map((a) => a.replace("$D", dir)), dir)
        ),
      )),
    );
  }
  CASES.forEach(([script, args, expected], i) => {
    const { code, stderr } = results[i];
    const what = `${script} ${args.join(" ")}`;
    assert.equal(code, 2, `${what}: exit code ${code}; stderr ${stderr}`);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${what}: one line, got ${stderr}`);
    assert.match(lines[0], expected, what);
  });
  assert.deepEqual(await listing(dir), before, "nothing written");
  await Deno.remove(dir, { recursive: true });
});
