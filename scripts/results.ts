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
import { readFile, stat, writeFile } from "node:fs/promises";
import { GRID } from "../examples/_grid.ts";
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

// The grid's order (examples/_grid.ts), so the table reads the same way as the paper's; rows the grid no
// longer lists come last.
const ORDER = GRID.map((r) => seedGroup(r.row));
const rank = (row: string) => (ORDER.indexOf(seedGroup(row)) + ORDER.length + 1) % (ORDER.length + 1);

const rows: { summary: Summary; history: Epoch[]; kept: boolean }[] = [];
for (const { dir: rowDir, summary } of await readSummaries(dir)) {
  const metrics = await readFile(`${rowDir}/metrics.jsonl`, "utf8");
  const kept = await stat(`${rowDir}/best/weights.bin`).then(() => true, () => false);
  rows.push({
    summary,
    history: metrics.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)),
    kept,
  });
}
rows.sort((a, b) => rank(a.summary.row) - rank(b.summary.row) || a.summary.row.localeCompare(b.summary.row));

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const NAMES: Record<string, string> = { "rnn-spn": "RNN-SPN", spn: "CNN-SPN", cnn: "CNN" };
function recipeText(s: Summary): string {
  const r = s.recipe;
  const gru = s.gru ? `; GRU ${s.gru.resetAfter ? "reset after" : "reset before"}, ${s.gru.init} init` : "";
  if (r.name === "paper") return `paper: RMSprop 5e-4, the authors' ÷1.5 loop (33, 45, 57, …)${gru}`;
  if (r.name === "step") return `step: RMSprop 5e-4, ÷1.5 / 10 ep. after 30 (31, 41, …)${gru}`;
  const warmup = r.warmupEpochs > 0 ? `${r.warmupEpochs}-ep. warm-up, ` : "";
  return `fast: RMSprop ${r.learningRate.toExponential()}, ${warmup}cosine over ${r.epochs}` +
    (r.freshEpochs ? ", fresh data per epoch †" : "") + gru;
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
const STUDIES: Record<string, string> = {
  "epochs-13": "models at 13 epochs",
  "ds-20": "DS 1–4 at 20 epochs",
  headline: "headline over seeds",
};
/** Which equal-budget comparison a row belongs to; ‡ marks a row whose budget matches no other's. */
function budgetText(s: Summary): string {
  // Rows that ended before summaries recorded their study take it from the grid.
  const study = s.study ?? GRID.find((r) => r.row === s.row)?.study;
  return study ? STUDIES[study] ?? study : "‡ outside the studies";
}

/** Rows named `<group>-s<N>` are seeds of one group; every other row is a group of one. */
function seedGroup(row: string): string {
  return row.replace(/-s\d+$/, "");
}
const groups = new Map<string, typeof rows>();
for (const r of rows) {
  const name = seedGroup(r.summary.row);
  groups.set(name, [...(groups.get(name) ?? []), r]);
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The sample standard deviation (n − 1). */
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
function spread(xs: number[], bold = false): string {
  const m = bold ? `**${pct(mean(xs))}**` : pct(mean(xs));
  return xs.length === 1 ? m : `${m} ± ${(100 * sd(xs)).toFixed(2)}`;
}

const header = [
  "row",
  "model",
  "DS",
  "seeds",
  "test per-digit error",
  "test sequence error",
  "paper",
  "best epoch",
  "epochs",
  "budget",
  "model kept",
  "wall-clock",
  "samples/s",
  "CPU",
  "recipe",
];
const cells = [...groups].map(([name, members]) => {
  const s = members[0].summary;
  const seeds = members.map((m) => m.summary.recipe.seed ?? 1);
  const statuses = [...new Set(members.map((m) => statusText(m.summary)))];
  return [
    members.length > 1 ? `\`${name}-s*\`` : `\`${s.row}\``,
    NAMES[s.model] ?? s.model,
    `${s.downsample ?? "–"}`,
    members.length > 1 ? `${members.length} (${seeds.join(", ")})` : `1 (${seeds[0]})`,
    spread(members.map((m) => m.summary.testDigitError), true),
    spread(members.map((m) => m.summary.testSequenceError)),
    s.paper === null ? "–" : pct(s.paper),
    members.map((m) => m.summary.bestEpoch).join(", "),
    statuses.join(", "),
    budgetText(s),
    members.every((m) => m.kept) ? "best/" : members.some((m) => m.kept) ? "some" : "–",
    `${(mean(members.map((m) => m.summary.wallSeconds)) / 3600).toFixed(1)} h`,
    mean(members.map((m) => m.summary.samplesPerSecond)).toFixed(0),
    [...new Set(members.map((m) => cpuText(m.summary.cpu)))].join(", "),
    recipeText(s),
  ];
});
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

const FOOTNOTE =
  "† beyond the paper: new training sequences every epoch (the paper trained on one fixed set). " +
  "Seeds: each seed changes the weights, the data and its order; ± is the sample standard deviation. " +
  "Budget: the rows of one equal-budget comparison share a recipe and epoch count; ‡ marks a row outside " +
  "them, which compares with the others only loosely. Model kept: `best/` committed, re-scored by " +
  "`examples/evaluate.ts results/<row>/best`.";

/** Greedy wrap at deno fmt's line width (110), so `deno fmt` leaves the generated block as it is. */
function wrap(text: string, width = 110): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join("\n");
}

const README = "README.md";
const readme = await readFile(README, "utf8");
const block = `${markdownTable(header, cells)}\n\n` +
  `${wrap(FOOTNOTE)}\n\n` +
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
