/**
 * `deno task throughput`: the README's training-throughput table, generated from the record that
 * `bench/vs_torch_grid.sh` writes (`bench/results/train_throughput.jsonl`: one meta line, then one
 * `bench:train --json` result per model, DS and FMA setting), so the table cannot drift from what was
 * measured. Replaces the text between `<!-- throughput:begin -->` and `<!-- throughput:end -->` in
 * README.md; `--check` fails instead of writing when it is out of date (CI runs it).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readFile, writeFile } from "node:fs/promises";
import { markdownTable, replaceBlock } from "./readme_block.ts";

const { values: args } = parseArgs({
  options: {
    record: { type: "string", default: "bench/results/train_throughput.jsonl" },
    check: { type: "boolean" },
  },
  strict: true,
});

interface Meta {
  kind: "meta";
  date: string;
  cpu: string;
  cores: number;
  torch: string;
  load: string;
}
interface Result {
  kind: "result";
  model: string;
  ds: number;
  fma: boolean | null;
  workers: number;
  samples_per_s: number;
  torch_samples_per_s?: number;
  load: number;
}

const lines = (await readFile(args.record!, "utf8")).split("\n").filter((l) => l.trim());
const records = lines.map((l) => JSON.parse(l) as Meta | Result);
const meta = records.find((r): r is Meta => r.kind === "meta");
if (!meta) throw new Error(`${args.record}: no meta line (date, cpu, load); rerun bench/vs_torch_grid.sh`);
const results = records.filter((r): r is Result => r.kind === "result");

const NAMES: Record<string, string> = { "rnn-spn": "RNN-SPN", spn: "CNN-SPN", cnn: "CNN" };
const keys = [...new Set(results.map((r) => `${r.model} ${r.ds}`))];
const fmt = (x: number, digits = 1) => x.toFixed(digits);
const cells = keys.map((key) => {
  const of = (fma: boolean) => results.find((r) => `${r.model} ${r.ds}` === key && r.fma === fma);
  const on = of(true), off = of(false);
  if (!on || !off) throw new Error(`${args.record}: ${key} lacks its FMA-${on ? "off" : "on"} result`);
  const [torchOn, torchOff] = [on.torch_samples_per_s, off.torch_samples_per_s];
  if (torchOn === undefined || torchOff === undefined) {
    throw new Error(`${args.record}: ${key} lacks a PyTorch rate (run each setting with --vs-torch)`);
  }
  return [
    NAMES[on.model] ?? on.model,
    on.model === "cnn" ? "–" : `${on.ds}`,
    fmt(on.samples_per_s),
    fmt(off.samples_per_s),
    `${fmt(torchOn)} / ${fmt(torchOff)}`,
    `**${fmt(on.samples_per_s / torchOn, 2)}×**`,
    `${fmt(off.samples_per_s / torchOff, 2)}×`,
    `${fmt(on.samples_per_s / off.samples_per_s, 2)}×`,
    fmt(on.load, 2),
  ];
});
const header = [
  "model",
  "DS",
  "ours, FMA on",
  "ours, FMA off",
  "PyTorch (beside on / off)",
  "ratio, FMA on",
  "ratio, FMA off",
  "FMA gain",
  "load",
];
/** Greedy wrap at the formatter's line width, so `deno fmt` leaves the paragraph alone. */
function wrap(text: string, width = 110): string {
  const out: string[] = [];
  for (const word of text.split(" ")) {
    const last = out.length - 1;
    if (last >= 0 && out[last].length + 1 + word.length <= width) out[last] += ` ${word}`;
    else out.push(word);
  }
  return out.join("\n");
}

const README = "README.md";
const readme = await readFile(README, "utf8");
const about = `Samples/s at batch 100, wasm, 2 workers (one per core), median of the timed steps; ` +
  `PyTorch ${meta.torch} on 2 threads, alternating with ours round by round in both settings, each ratio ` +
  `against the PyTorch rate measured beside it. Measured ` +
  `${meta.date.slice(0, 10)} on ${meta.cpu} (${meta.cores} cores), load average ` +
  `${meta.load.split(" ")[0]} at the start; "load" is the 1-minute load average when each FMA-on row ` +
  `ended (the benchmark's own 2 busy cores count in it).`;
const updated = replaceBlock(
  readme,
  "throughput",
  args.record!,
  `${wrap(about)}\n\n${markdownTable(header, cells)}\n\n`,
);
if (updated !== readme) {
  if (args.check) {
    console.error(`throughput: ${README} is out of date (run \`deno task throughput\`)`);
    Deno.exit(1);
  }
  await writeFile(README, updated);
}
console.log(`throughput: ${cells.length} rows ${args.check ? "up to date" : "written"}`);
