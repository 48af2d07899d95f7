/**
 * `deno task results`: the README's results table and the two plots, generated from `results/`, so that
 * neither can drift from what the runs measured.
 *
 * Reads every `results/<row>/summary.json` (written by `examples/reproduce.ts`) and `metrics.jsonl`;
 * writes `results/test-error-epochs.svg` and `results/test-error-hours.svg`, and replaces the text between
 * `<!-- results:begin -->` and `<!-- results:end -->` in README.md. `--check` fails instead of writing
 * when either is out of date (CI runs it).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readFile, writeFile } from "node:fs/promises";
import { type Curve, plotSvg } from "./plot.ts";
import { markdownTable, replaceBlock } from "./readme_block.ts";
import { readSummaries, type Summary } from "./summaries.ts";

const { values: args } = parseArgs({
  options: { results: { type: "string", default: "results" }, check: { type: "boolean" } },
  strict: true,
});
const dir = args.results!;

interface Epoch {
  epoch: number;
  seconds: number;
  test: { digitError: number };
}

// The grid's order (examples/reproduce.ts), so the table reads the same way as the paper's.
const ORDER = [
  "rnn-spn-ds3",
  "rnn-spn-ds3-long",
  "rnn-spn-ds3-paper",
  "spn-ds2",
  "spn-ds3",
  "cnn",
  "rnn-spn-ds1",
  "rnn-spn-ds2",
  "rnn-spn-ds4",
];
const rank = (row: string) => (ORDER.indexOf(row) + ORDER.length + 1) % (ORDER.length + 1);

const rows: { summary: Summary; history: Epoch[] }[] = [];
for (const { dir: rowDir, summary } of await readSummaries(dir)) {
  const metrics = await readFile(`${rowDir}/metrics.jsonl`, "utf8");
  rows.push({ summary, history: metrics.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)) });
}
rows.sort((a, b) => rank(a.summary.row) - rank(b.summary.row) || a.summary.row.localeCompare(b.summary.row));

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const NAMES: Record<string, string> = { "rnn-spn": "RNN-SPN", spn: "CNN-SPN", cnn: "CNN" };
function recipeText(s: Summary): string {
  const r = s.recipe;
  if (r.name === "paper") return "paper: RMSprop 5e-4, ÷1.5 / 10 ep. after 30";
  const warmup = r.warmupEpochs > 0 ? `${r.warmupEpochs}-ep. warm-up, ` : "";
  return `fast: RMSprop ${r.learningRate.toExponential()}, ${warmup}cosine over ${r.epochs}` +
    (r.freshEpochs ? ", fresh data per epoch †" : "");
}
/** "Intel(R) Xeon(R) Processor @ 2.80GHz (2 cores)" → "Intel Xeon @ 2.80GHz": every row ran on 2 cores. */
function cpuText(cpu: string): string {
  return cpu.replace(/\(R\)|\(TM\)/g, "").replace(/ Processor| \(\d+ cores\)/g, "").replace(/\s+/g, " ")
    .trim();
}
function statusText(s: Summary): string {
  if (s.status === "running") return `running (${s.epochs}/${s.recipe.epochs})`;
  if (s.status === "budget") return `ended by its time budget (${s.epochs}/${s.recipe.epochs})`;
  if (s.status === "early-stopping") return `early stop (${s.epochs})`;
  return `${s.epochs}`;
}

const header = [
  "row",
  "model",
  "DS",
  "test per-digit error",
  "test sequence error",
  "paper",
  "best epoch",
  "epochs",
  "wall-clock",
  "samples/s",
  "CPU",
  "recipe",
];
const cells = rows.map(({ summary: s }) => [
  `\`${s.row}\``,
  NAMES[s.model] ?? s.model,
  `${s.downsample ?? "–"}`,
  `**${pct(s.testDigitError)}**`,
  pct(s.testSequenceError),
  s.paper === null ? "–" : pct(s.paper),
  `${s.bestEpoch}`,
  statusText(s),
  `${(s.wallSeconds / 3600).toFixed(1)} h`,
  s.samplesPerSecond.toFixed(0),
  cpuText(s.cpu),
  recipeText(s),
]);
// Time to accuracy: the issue compares recipes by how soon they get there, not only where they end.
// The marks are the ones examples/reproduce.ts recorded, read from the summaries rather than repeated.
const THRESHOLDS = [...new Set(rows.flatMap(({ summary }) => Object.keys(summary.firstReached)))]
  .sort((a, b) => Number(b) - Number(a));
const reachedHeader = ["row", "recipe", ...THRESHOLDS.map((t) => `below ${+(100 * Number(t)).toFixed(1)} %`)];
const reachedCells = rows.map(({ summary: s }) => [
  `\`${s.row}\``,
  s.recipe.name,
  ...THRESHOLDS.map((t) => {
    const at = s.firstReached[t];
    return at ? `epoch ${at.epoch}, ${(at.seconds / 3600).toFixed(2)} h` : "–";
  }),
]);

const curves = (x: (e: Epoch, elapsed: number) => number): Curve[] =>
  rows.map(({ summary, history }) => {
    let elapsed = 0;
    return {
      label: summary.row,
      points: history.map((e) => {
        elapsed += e.seconds;
        return [x(e, elapsed), e.test.digitError] as [number, number];
      }),
    };
  });
const marks = [
  { label: "paper RNN-SPN 1.5 %", y: 0.015 },
  { label: "paper CNN-SPN 2.0 %", y: 0.02 },
  { label: "paper CNN 2.9 %", y: 0.029 },
];
const files: Record<string, string> = {
  [`${dir}/test-error-epochs.svg`]: plotSvg(curves((e) => e.epoch), marks, {
    title: "Test per-digit error by epoch",
    xLabel: "epoch",
  }),
  [`${dir}/test-error-hours.svg`]: plotSvg(curves((_, t) => t / 3600), marks, {
    title: "Test per-digit error by wall-clock (2 cores)",
    xLabel: "hours",
  }),
};

const README = "README.md";
const readme = await readFile(README, "utf8");
const block = `${markdownTable(header, cells)}\n\n` +
  `† beyond the paper: new training sequences every epoch (the paper trained on one fixed set).\n\n` +
  `Time to accuracy: when the test per-digit error first fell below each mark (epoch; wall-clock, CPU as above).\n\n` +
  `${markdownTable(reachedHeader, reachedCells)}\n\n` +
  `![test error by epoch](results/test-error-epochs.svg)\n![test error by wall-clock](results/test-error-hours.svg)\n\n`;
files[README] = replaceBlock(readme, "results", "results/*/summary.json", block);

const stale: string[] = [];
for (const [path, text] of Object.entries(files)) {
  const old = await readFile(path, "utf8").catch(() => "");
  if (old === text) continue;
  if (args.check) stale.push(path);
  else await writeFile(path, text);
}
if (stale.length > 0) {
  console.error(`results: out of date (run \`deno task results\`): ${stale.join(", ")}`);
  Deno.exit(1);
}
console.log(`results: ${rows.length} rows ${args.check ? "up to date" : "written"}`);
