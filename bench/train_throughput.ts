/**
 * `deno task bench:train`: training throughput of the three models — full steps of the library's
 * `trainStep` (forward, backward, clipping, RMSprop update, loss read back), batch 100, after
 * warm-up — as median samples/s and achieved GFLOP/s (analytic FLOPs: bench/flops.ts). With
 * `--vs-torch` it alternates rounds of our step and of the PyTorch peer (bench/peers/rnn_spn_torch.py,
 * same batch, 2 threads) and ends with one line per model:
 * `<model> ds<k> ours <n> samples/s torch <m> samples/s ratio <r>`. It first checks that the peer's
 * python imports torch and exits with status 2 and the reason, before timing anything, when it
 * cannot (likewise when a peer round fails or runs past 20 minutes).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../src/tf.ts";
import { registerKernels } from "../src/kernels/register.ts";
import { type BackendName, describeBackend, selectBackend } from "../src/backend.ts";
import { trainingFlops } from "./flops.ts";
import { DataParallelStep } from "../src/train/data_parallel.ts";
import { median } from "./_timing.ts";
import { makeRig, MODEL_NAMES, type ModelName, timeSteps } from "./train_step_timer.ts";

const HELP = `deno task bench:train [options]

  --models LIST     comma list of rnn-spn, spn, cnn (default all three)
  --ds LIST         downsample factors of rnn-spn and spn (default: 1,2,3,4 for rnn-spn, 3 for spn);
                    cnn always runs on the full image and is reported as ds1
  --backends LIST   comma list of wasm, cpu, webgpu (default wasm). cpu is opt-in: tfjs's pure-JS
                    backend trains the RNN-SPN at ~0.6 samples/s here (a batch-100 step takes minutes)
  --batch N         batch size (default 100)
  --steps N         timed steps per round (default 10)
  --warmup N        untimed steps first (default 2)
  --micro-batch N   trainStep's microBatch: gradient in slices of N (default: whole batch; the CNN
                    and RNN-SPN ds1 need 50 on one wasm instance, whose heap is limited to 2 GB)
  --workers N       data-parallel: the main thread + N−1 Workers, each its own tfjs instance on
                    1/N of the batch, gradients summed, one update (DataParallelStep; default: one
                    per core, navigator.hardwareConcurrency; 1 when --micro-batch is given)
  --rounds N        rounds per model (default 1; 3 with --vs-torch)
  --vs-torch        alternate our step (first backend) and the PyTorch peer each round; exits
                    with status 2 at once when the peer cannot run (no python, no torch)
  --torch-threads N threads of the PyTorch peer (default 2)
  --python PATH     python with torch (default /usr/bin/python3)
  --json            one JSON object per result instead of text
  --help            this text`;

const PEER = new URL("./peers/rnn_spn_torch.py", import.meta.url).pathname;

function list(value: string | undefined, fallback: string[]): string[] {
  return value === undefined ? fallback : value.split(",").map((s) => s.trim()).filter(Boolean);
}

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer; got ${value}`);
  return n;
}

const { values: args } = parseArgs({
  options: {
    models: { type: "string" },
    ds: { type: "string" },
    backends: { type: "string" },
    batch: { type: "string", default: "100" },
    steps: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    "micro-batch": { type: "string" },
    workers: { type: "string" },
    rounds: { type: "string" },
    "vs-torch": { type: "boolean", default: false },
    "torch-threads": { type: "string", default: "2" },
    python: { type: "string", default: "/usr/bin/python3" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(HELP);
  Deno.exit(0);
}

const models = list(args.models, [...MODEL_NAMES]) as ModelName[];
for (const m of models) {
  if (!MODEL_NAMES.includes(m)) throw new Error(`--models: each must be one of ${MODEL_NAMES}; got ${m}`);
}
const backends = list(args.backends, ["wasm"]) as BackendName[];
for (const b of backends) {
  if (!["wasm", "cpu", "webgpu"].includes(b)) throw new Error(`--backends: wasm, cpu or webgpu; got ${b}`);
}
const dsList = args.ds === undefined ? undefined : list(args.ds, []).map((d) => positive(d, "ds"));
const batch = positive(args.batch!, "batch");
const steps = positive(args.steps!, "steps");
const warmup = Number(args.warmup);
if (!Number.isInteger(warmup) || warmup < 0) {
  throw new Error(`--warmup must be an integer ≥ 0; got ${args.warmup}`);
}
const microBatch = args["micro-batch"] === undefined
  ? undefined
  : positive(args["micro-batch"], "micro-batch");
// All cores by default: one tfjs instance per core is how training on wasm uses the machine.
const workers = args.workers !== undefined
  ? positive(args.workers, "workers")
  : microBatch !== undefined
  ? 1
  : Math.max(1, navigator.hardwareConcurrency || 1);
if (workers > 1 && microBatch !== undefined) {
  throw new Error("--workers > 1 and --micro-batch do not combine");
}
const vsTorch = args["vs-torch"]!;
const rounds = positive(args.rounds ?? (vsTorch ? "3" : "1"), "rounds");
const torchThreads = positive(args["torch-threads"]!, "torch-threads");

/** The (model, ds) pairs to run. */
const configs: { model: ModelName; ds: number }[] = [];
for (const model of models) {
  const ds = model === "cnn" ? [1] : dsList ?? (model === "rnn-spn" ? [1, 2, 3, 4] : [3]);
  for (const d of ds) configs.push({ model, ds: d });
}

interface TorchRound {
  samplesPerS: number;
  stepMs: number[];
}

/** The PyTorch peer could not run: the comparison is meaningless, so the whole run stops. */
class PeerError extends Error {}

/** Longest a peer round may take before it is killed (its steps take seconds; the import, minutes at worst). */
const PEER_TIMEOUT_MS = 20 * 60_000;

/** Spawns `args.python` with `argv`, killed after `timeoutMs`; a missing interpreter is a {@linkcode PeerError}. */
async function runPython(argv: string[], timeoutMs: number): Promise<Deno.CommandOutput> {
  try {
    return await new Deno.Command(args.python!, {
      args: argv,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? `${args.python} does not exist`
      : error instanceof Error
      ? error.message
      : String(error);
    throw new PeerError(
      `--vs-torch: cannot run the PyTorch peer with ${args.python}: ${why} (pass --python PATH to a python3 with torch)`,
    );
  }
}

/**
 * Checks, before any timing, that the peer's interpreter starts and imports torch (seen: without
 * torch the run timed every model of ours first and then did not exit).
 */
async function checkPeer(): Promise<void> {
  const { code, signal, stdout, stderr } = await runPython(
    ["-c", "import torch, sys; print(torch.__version__, torch.get_num_threads())"],
    120_000,
  );
  if (code !== 0) {
    const tail = new TextDecoder().decode(stderr).trim().split("\n").at(-1) ?? "";
    throw new PeerError(
      `--vs-torch: ${args.python} cannot import torch (${
        signal ? `killed by ${signal} after 120 s` : `exit ${code}`
      }: ${tail}); install PyTorch for it (e.g. apt-get install python3-torch) or pass --python PATH`,
    );
  }
  if (!args.json) {
    console.log(`# PyTorch peer: ${args.python}, torch ${new TextDecoder().decode(stdout).trim()}`);
  }
}

async function torchRound(model: ModelName, ds: number): Promise<TorchRound> {
  const output = await runPython(
    [
      PEER,
      "--model",
      model,
      "--ds",
      String(ds),
      "--batch",
      String(batch),
      "--steps",
      String(steps),
      "--warmup",
      String(Math.max(1, warmup)),
      "--threads",
      String(torchThreads),
    ],
    PEER_TIMEOUT_MS,
  );
  const { code, signal, stdout, stderr } = output;
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new PeerError(
      `PyTorch peer failed (${
        signal ? `killed by ${signal} after ${PEER_TIMEOUT_MS / 60_000} min` : `exit ${code}`
      }): ${new TextDecoder().decode(stderr).slice(-2000)}`,
    );
  }
  const line = text.trim().split("\n").at(-1)!;
  const parsed = JSON.parse(line) as { samples_per_s: number; step_ms: number[] };
  return { samplesPerS: parsed.samples_per_s, stepMs: parsed.step_ms };
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

const summary: string[] = [];
if (vsTorch) {
  try {
    await checkPeer();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(2);
  }
}
registerKernels();
for (const [bi, backend] of backends.entries()) {
  if (vsTorch && bi > 0) break; // the side-by-side run uses the first backend only
  await selectBackend(backend);
  const info = await describeBackend();
  if (!args.json) {
    console.log(
      `# backend ${JSON.stringify(info)}  batch ${batch}${
        microBatch ? ` (micro-batches of ${microBatch})` : ""
      }${workers > 1 ? `  data-parallel over ${workers} tfjs instances` : ""}  load ${
        Deno.loadavg().join(" ")
      }`,
    );
  }
  for (const { model, ds } of configs) {
    const rig = makeRig(model, ds, batch, 0, microBatch);
    if (workers > 1) {
      // Same rig, but each step sharded over the main thread and workers − 1 Workers.
      const dp = await DataParallelStep.create(rig.model, { workers });
      const dispose = rig.dispose;
      rig.step = async () => {
        const loss = await dp.step(rig.optimizer, rig.images, rig.labels);
        const value = (await loss.data())[0];
        loss.dispose();
        return value;
      };
      rig.dispose = () => {
        dp.dispose();
        dispose();
      };
    }
    const flops = trainingFlops(rig.model);
    const perSample = flops.forward + flops.backward;
    let failed = false;
    try {
      const tw = performance.now();
      for (let i = 0; i < warmup; i++) await rig.step();
      const warmupMs = performance.now() - tw;
      const tensorsBefore = tf.memory().numTensors;
      const ours: number[] = [];
      const torch: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const times = await timeSteps(rig, steps);
        ours.push(...times);
        const line: Record<string, unknown> = {
          model,
          ds,
          backend,
          batch,
          round: r + 1,
          samples_per_s: batch / (median(times) / 1000),
        };
        if (vsTorch) {
          const t = await torchRound(model, ds);
          torch.push(...t.stepMs);
          line.torch_samples_per_s = t.samplesPerS;
        }
        if (args.json) console.log(JSON.stringify({ kind: "round", ...line }));
      }
      const leaked = tf.memory().numTensors - tensorsBefore;
      const ms = median(ours);
      const sps = batch / (ms / 1000);
      const result: Record<string, unknown> = {
        kind: "result",
        model,
        ds,
        backend,
        // Which kernel path ran (relaxed-SIMD FMA or SIMD128), so an FMA A/B reads from the record.
        fma: info.fma ?? null,
        batch,
        micro_batch: microBatch ?? batch,
        workers,
        steps: ours.length,
        warmup_ms: Math.round(warmupMs),
        step_ms_median: Number(ms.toFixed(2)),
        samples_per_s: Number(sps.toFixed(2)),
        mflop_per_sample: Number((perSample / 1e6).toFixed(2)),
        mflop_per_sample_forward: Number((flops.forward / 1e6).toFixed(2)),
        gflop_per_s: Number((sps * perSample / 1e9).toFixed(2)),
        leaked_tensors: leaked,
        load: Deno.loadavg()[0],
      };
      if (vsTorch) {
        const tsps = batch / (median(torch) / 1000);
        result.torch_samples_per_s = Number(tsps.toFixed(2));
        result.torch_gflop_per_s = Number((tsps * perSample / 1e9).toFixed(2));
        result.ratio = Number((sps / tsps).toFixed(2));
        summary.push(
          `${model} ds${ds} ours ${fmt(sps)} samples/s torch ${fmt(tsps)} samples/s ratio ${
            (sps / tsps).toFixed(2)
          }`,
        );
      }
      if (args.json) console.log(JSON.stringify(result));
      else {
        console.log(
          `${backend.padEnd(6)} ${model.padEnd(7)} ds${ds}  ${fmt(sps).padStart(7)} samples/s  ` +
            `${fmt(sps * perSample / 1e9, 2).padStart(6)} GFLOP/s  (${fmt(perSample / 1e6)} MFLOP/sample, ` +
            `median step ${fmt(ms)} ms of ${ours.length}, warm-up ${Math.round(warmupMs)} ms` +
            (vsTorch ? `, torch ${fmt(result.torch_samples_per_s as number)} samples/s` : "") +
            (leaked !== 0 ? `, LEAKED ${leaked} tensors` : "") + `)`,
        );
      }
    } catch (error) {
      if (error instanceof PeerError) {
        // Exits at once: the data-parallel Workers would otherwise keep the process alive.
        console.error(error.message);
        Deno.exit(2);
      }
      // Typically "memory access out of bounds": the batch's activations and gradients outgrew
      // tfjs-backend-wasm's heap (2 GB; the CNN at batch 100 needs more). The heap may be corrupt
      // afterwards, so this backend stops here.
      failed = true;
      const why = error instanceof Error ? error.message : String(error);
      console.log(`${backend} ${model} ds${ds} batch ${batch}: FAILED (${why})`);
      summary.push(`${model} ds${ds} ours FAILED (${why}) on ${backend} at batch ${batch}`);
    } finally {
      if (!failed) rig.dispose();
    }
    if (failed) break;
  }
}
for (const line of summary) console.log(line);
// A backend that failed keeps its rig (its heap may be corrupt), Workers included: exit rather
// than wait on them.
Deno.exit(summary.some((line) => line.includes("FAILED")) ? 1 : 0);
