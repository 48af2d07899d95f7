/**
 * Reproduces the paper's table (Sønderby et al. 2015, cluttered MNIST sequences) and its down-sampling
 * study as a resumable grid of training runs, one directory per row under `results/`.
 *
 *   MNIST_DIR=../shared/mnist deno run -A examples/reproduce.ts --list           # rows, state, time left
 *   deno run -A examples/reproduce.ts --budget-minutes 150                       # advance the grid
 *   deno run -A examples/reproduce.ts --only rnn-spn-ds3,spn-ds3 --budget-minutes 60
 *
 * Each row trains with `train()` into `results/<row>/` (`run.json`, `metrics.jsonl`, `checkpoints/`,
 * `best/`) and keeps `summary.json` up to date after every epoch. A stopped invocation resumes its rows
 * exactly; a finished row is skipped. The rows and their recipes are data, in `examples/_grid.ts`.
 * `deno task results` turns the summaries into the README's table.
 *
 * @module
 */
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import {
  ClutteredMnist,
  createModel,
  describeBackend,
  type EpochMetrics,
  loadMnist,
  type ModelKind,
  selectBackend,
  train,
} from "../mod.ts";
import { intFlag, numberFlag, parseCli, runCli, UsageError } from "./_cli.ts";
import { GRID, type Recipe, type Row, SEED, SIZES, THRESHOLDS } from "./_grid.ts";

// ── Command line ────────────────────────────────────────────────────────────────────────────────────

const HELP = `Usage: deno run -A examples/reproduce.ts [flags]

Advances the reproduction grid (${GRID.map((r) => r.row).join(", ")}).

  --list                 print every row with its state and estimated time left, then exit
  --only ROW,…           only these rows (default: all, in grid order)
  --budget-minutes M     stop cleanly at an epoch boundary before M minutes (default: no limit)
  --workers N            data-parallel tfjs instances, one per core (default: all cores)
  --results DIR          where the rows live (default results)
  --help                 this text
`;

// Every mistake is one line naming the flag, what was expected and what was seen (exit code 2), before
// MNIST is loaded or anything is written: examples/_cli.ts's conventions, as in train.ts.
function parseFlags() {
  const { values } = parseCli(Deno.args, {
    list: { type: "boolean" },
    only: { type: "string" },
    "budget-minutes": { type: "string" },
    workers: { type: "string" },
    results: { type: "string", default: "results" },
    help: { type: "boolean", short: "h" },
  });
  const text = (name: string) => values[name] as string | undefined;
  const budget = text("budget-minutes"), workers = text("workers");
  const only = text("only")?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const name of only ?? []) {
    if (!GRID.some((r) => r.row === name)) {
      throw new UsageError(
        `--only: unknown row ${JSON.stringify(name)}; the rows are ${GRID.map((r) => r.row).join(", ")}`,
      );
    }
  }
  return {
    help: values.help === true,
    list: values.list === true,
    only,
    budgetSeconds: budget === undefined
      ? Infinity
      : 60 * numberFlag("budget-minutes", budget, { above: 0 }, false),
    workers: workers === undefined
      ? navigator.hardwareConcurrency || 1
      : intFlag("workers", workers, { min: 1 }),
    results: text("results")!,
  };
}

const args = await runCli("reproduce.ts", parseFlags);
if (args.help) {
  console.log(HELP);
  Deno.exit(0);
}
const { budgetSeconds, workers, only } = args;
const rows = GRID.filter((r) => only === undefined || only.includes(r.row));
const resultsDir = args.results;

// ── A row's state on disk ───────────────────────────────────────────────────────────────────────────

type Status = "running" | "epochs" | "early-stopping" | "budget";

interface Summary {
  row: string;
  model: ModelKind;
  downsample: number | null;
  recipe: Recipe & { seed: number; sizes: typeof SIZES; workers: number };
  /** The GRU switches, where the row sets them. */
  gru: Row["gru"] | null;
  study: Row["study"] | null;
  status: Status;
  epochs: number;
  bestEpoch: number;
  testDigitError: number;
  testSequenceError: number;
  validDigitError: number;
  wallSeconds: number;
  samplesPerSecond: number;
  backend: string;
  cpu: string;
  paper: number | null;
  firstReached: Record<string, { epoch: number; seconds: number } | null>;
}

/** A damaged row file: one line naming it (no stack), exit code 1, nothing written. */
function damaged(what: string, err: unknown): never {
  const why = String((err as Error)?.message ?? err).split(/[,\n]/)[0].replace(/[^\x20-\x7e]/g, "?").slice(
    0,
    80,
  );
  console.error(
    `reproduce.ts: ${what} is not valid JSON (truncated or corrupt? ${why}); repair or remove it`,
  );
  Deno.exit(1);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT" || err instanceof Deno.errors.NotFound) return undefined;
    console.error(`reproduce.ts: cannot read ${path}: ${(err as Error).message}`);
    Deno.exit(1);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    damaged(path, err);
  }
}

async function readHistory(dir: string): Promise<EpochMetrics[]> {
  const text = await readFile(`${dir}/metrics.jsonl`, "utf8").catch(() => "");
  return text.split("\n").flatMap((line, i) => {
    if (line.trim() === "") return [];
    try {
      return [JSON.parse(line) as EpochMetrics];
    } catch (err) {
      damaged(`${dir}/metrics.jsonl line ${i + 1}`, err);
    }
  });
}

/** What a row has achieved so far, from its metrics: the best epoch is the one with the lowest valid error. */
function summarize(row: Row, history: EpochMetrics[], status: Status, backend: string, cpu: string): Summary {
  let best = history[0];
  for (const m of history) if (m.valid.digitError < best.valid.digitError) best = m;
  let seconds = 0;
  const firstReached: Summary["firstReached"] = Object.fromEntries(THRESHOLDS.map((t) => [String(t), null]));
  for (const m of history) {
    seconds += m.seconds;
    for (const t of THRESHOLDS) {
      if (firstReached[String(t)] === null && m.test.digitError < t) {
        firstReached[String(t)] = { epoch: m.epoch, seconds: Math.round(seconds) };
      }
    }
  }
  return {
    row: row.row,
    model: row.model,
    downsample: row.downsample ?? null,
    recipe: { ...row.recipe, seed: row.seed ?? SEED, sizes: SIZES, workers },
    gru: row.gru ?? null,
    study: row.study ?? null,
    status,
    epochs: history.length,
    bestEpoch: best.epoch,
    testDigitError: best.test.digitError,
    testSequenceError: best.test.sequenceError,
    validDigitError: best.valid.digitError,
    wallSeconds: Math.round(seconds),
    samplesPerSecond: Math.round(history.reduce((s, m) => s + m.samplesPerSec, 0) / history.length * 10) / 10,
    backend,
    cpu,
    paper: row.paper ?? null,
    firstReached,
  };
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + "\n");
  await rename(tmp, path);
}

async function cpuName(): Promise<string> {
  const info = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const name = info.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown CPU";
  return `${name} (${navigator.hardwareConcurrency} cores)`;
}

const hours = (s: number) => `${(s / 3600).toFixed(1)} h`;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

async function rowState(row: Row) {
  const dir = `${resultsDir}/${row.row}`;
  const summary = await readJson<Summary>(`${dir}/summary.json`);
  const history = await readHistory(dir);
  const done = summary !== undefined && summary.status !== "running";
  const perEpoch = history.length > 0
    ? history.reduce((s, m) => s + m.seconds, 0) / history.length
    : 60 * row.minutesPerEpoch;
  const wall = history.reduce((s, m) => s + m.seconds, 0);
  const left = done
    ? 0
    : Math.min((row.recipe.epochs - history.length) * perEpoch, 3600 * row.maxHours - wall);
  return { dir, summary, history, done, perEpoch, wall, left };
}

// ── --list ──────────────────────────────────────────────────────────────────────────────────────────

if (args.list) {
  let total = 0;
  for (const row of rows) {
    const s = await rowState(row);
    total += s.left;
    const state = s.done
      ? `done (${s.summary!.status}) after ${s.history.length} epochs`
      : s.history.length > 0
      ? `epoch ${s.history.length}/${row.recipe.epochs}`
      : "not started";
    const best = s.summary ? `best test ${pct(s.summary.testDigitError)} (epoch ${s.summary.bestEpoch})` : "";
    console.log(
      `${row.row.padEnd(18)} ${row.recipe.name.padEnd(5)} ${state.padEnd(34)} ${best.padEnd(32)} ` +
        `left ≈ ${hours(s.left)}`,
    );
  }
  console.log(`${"total".padEnd(18)} left ≈ ${hours(total)} on this machine`);
  Deno.exit(0);
}

// ── Training, row by row ────────────────────────────────────────────────────────────────────────────

const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
const abort = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    console.log(`${signal}: stopping between two steps (the unfinished epoch is redone on resume)`);
    abort.abort();
  });
}

await selectBackend("wasm");
const backendInfo = await describeBackend();
const backend = `${backendInfo.name}${"simd" in backendInfo && backendInfo.simd ? " (SIMD)" : ""}`;
const cpu = await cpuName();
const mnist = await loadMnist();

for (const row of rows) {
  const s = await rowState(row);
  if (s.done) {
    console.log(`${row.row}: done (${s.summary!.status}), skipped`);
    continue;
  }
  if (elapsed() + s.perEpoch > budgetSeconds) {
    console.log(`${row.row}: an epoch (≈ ${s.perEpoch.toFixed(0)} s) no longer fits the budget; stopping`);
    break;
  }
  const { recipe } = row;
  const resume = s.history.length > 0;
  if (resume && !(await stat(`${s.dir}/checkpoints`).then(() => true, () => false))) {
    console.error(
      `${row.row}: ${s.dir} has metrics but no checkpoints/ to resume from; remove the row to restart it`,
    );
    Deno.exit(1);
  }
  const seed = row.seed ?? SEED;
  const modelConfig = {
    seed,
    dropout: 0,
    ...(row.model === "rnn-spn" ? { steps: 3 } : { digits: 3 }),
    ...(row.downsample === undefined ? {} : { downsampleFactor: row.downsample }),
    ...(row.gru ? { gruResetAfter: row.gru.resetAfter, gruInit: row.gru.init } : {}),
  };
  console.log(
    `${row.row}: ${resume ? `resuming after epoch ${s.history.length}` : "starting"} (${recipe.name})`,
  );

  const data = new ClutteredMnist(mnist, { seed, sizes: SIZES, freshEpochs: recipe.freshEpochs });
  const model = createModel(row.model, modelConfig);
  let wall = s.wall;
  let rowBudgetSpent = false;
  const result = await train(model, data, {
    ...recipe,
    workers,
    dataSeed: seed,
    outDir: s.dir,
    resume,
    // A row that never finished an epoch has nothing to keep (a run.json at most): start it over.
    overwrite: !resume,
    // The same run.json as examples/train.ts writes, so evaluate.ts and train.ts --resume read it too.
    runInfo: {
      row: row.row,
      model: row.model,
      modelConfig,
      data: { seed, sizes: SIZES, freshEpochs: recipe.freshEpochs },
      train: recipe,
    },
    signal: abort.signal,
    onEpoch: async (m) => {
      wall += m.seconds;
      rowBudgetSpent = wall + m.seconds > 3600 * row.maxHours;
      // Kept current every epoch, so a killed invocation still leaves the row's state readable.
      await writeJsonAtomic(
        `${s.dir}/summary.json`,
        summarize(row, await readHistory(s.dir), "running", backend, cpu),
      );
      return !rowBudgetSpent && elapsed() + m.seconds <= budgetSeconds;
    },
  });
  model.dispose();
  const status: Status = result.stopped === "epochs" || result.stopped === "early-stopping"
    ? result.stopped
    : rowBudgetSpent
    ? "budget"
    : "running";
  const history = await readHistory(s.dir);
  if (history.length > 0) {
    const summary = summarize(row, history, status, backend, cpu);
    await writeJsonAtomic(`${s.dir}/summary.json`, summary);
    console.log(
      `${row.row}: ${status} after epoch ${summary.epochs}; best epoch ${summary.bestEpoch}: test per-digit ` +
        `${pct(summary.testDigitError)}, sequence ${pct(summary.testSequenceError)}`,
    );
  }
  if (status === "running") break; // stopped by the invocation's budget or a signal
}
console.log(`reproduce: stopped after ${hours(elapsed())}`);
Deno.exit(0);
