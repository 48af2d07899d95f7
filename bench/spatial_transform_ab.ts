/**
 * This checkout's bilinear spatial-transform kernels against another checkout's (say, the commit
 * before a change), A/B in one process on the paper's shape (images [100, 100, 100, 1], θ [300, 6],
 * 33×33, border padding): the two kernels' configs are called directly on the same backend and
 * tensors, alternating (which goes first alternates too), `--reps` times each, so load from other
 * processes falls on both alike. The table gives medians of wall time and of this process's CPU time
 * per call (user + system; the cpu and wasm kernels run on one thread, so on a machine shared with
 * other work the CPU time is the steadier measure) and their ratios, with the load average.
 *
 *   git archive <commit> | tar -x -C /tmp/base
 *   deno run -A bench/spatial_transform_ab.ts --baseline /tmp/base [--reps 15] [--modes]
 *
 * `--modes` adds a table of this checkout's other samplers on the same shape (nearest, bicubic,
 * bilinear with reflection padding, bilinear with projective θ [300, 9]), medians of wall and CPU
 * time per call, beside its bilinear kernels.
 *
 * The baseline's wasm kernel loads its own embedded binary (its `src/kernels/wasm/binary.ts`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadavg } from "node:os";
import { tf } from "../src/tf.ts";
import { type BackendName, selectBackend } from "../mod.ts";
import { cpuUsage } from "node:process";
import { median } from "./_timing.ts";
import { paperInputs } from "./_spatial_transform_inputs.ts";

const { values: args } = parseArgs({
  options: {
    baseline: { type: "string" },
    reps: { type: "string", default: "15" },
    modes: { type: "boolean", default: false },
  },
});
if (!args.baseline) {
  throw new Error("--baseline DIR (a checkout of the commit to compare against) is required");
}
const reps = Number(args.reps);
if (!Number.isInteger(reps) || reps < 1) {
  throw new Error(`--reps must be a positive integer; got ${args.reps}`);
}
const baseUrl = new URL(`file://${args.baseline.replace(/\/?$/, "/")}`);

type KernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }) =>
  | tf.TensorInfo
  | tf.TensorInfo[];

async function configs(root: URL, backend: "cpu" | "wasm"): Promise<[KernelFunc, KernelFunc]> {
  const forward = await import(new URL(`src/kernels/${backend}/spatial_transform.ts`, root).href);
  const grad = await import(new URL(`src/kernels/${backend}/spatial_transform_grad.ts`, root).href);
  const pick = (m: Record<string, { kernelFunc?: KernelFunc }>) =>
    Object.values(m).find((c) => c?.kernelFunc)!.kernelFunc!;
  return [pick(forward), pick(grad)];
}

const M = 300;
const attrs = { outHeight: 33, outWidth: 33, alignCorners: true, paddingMode: "border", mode: "bilinear" };
const rows: string[] = [], modeRows: string[] = [];
for (const backend of ["cpu", "wasm"] as const satisfies readonly BackendName[]) {
  await selectBackend(backend);
  const gpu = tf.backend() as unknown as {
    readSync(id: tf.DataId): unknown;
    disposeData(id: tf.DataId): void;
  };
  const { image, theta } = paperInputs();
  const dy = tf.randomUniform([M, 33, 33, 1], -1, 1, "float32", 4);
  const run = (f: KernelFunc, inputs: tf.NamedTensorInfoMap, a: object = attrs) => () => {
    const out = f({ inputs, backend: gpu, attrs: a });
    for (const info of Array.isArray(out) ? out : [out]) {
      gpu.readSync(info.dataId);
      gpu.disposeData(info.dataId);
    }
  };
  const [baseForward, baseGrad] = await configs(baseUrl, backend);
  const [ourForward, ourGrad] = await configs(new URL("../", import.meta.url), backend);
  for (
    const [what, base, ours, inputs] of [
      ["forward", baseForward, ourForward, { image, theta }],
      ["backward (∂image, ∂θ)", baseGrad, ourGrad, { dy, image, theta }],
    ] as const
  ) {
    const wall = { base: [] as number[], ours: [] as number[] };
    const cpu = { base: [] as number[], ours: [] as number[] };
    const fns = { base: run(base, inputs), ours: run(ours, inputs) };
    for (let r = -1; r < reps; r++) {
      for (const key of r % 2 === 0 ? ["base", "ours"] as const : ["ours", "base"] as const) {
        const [t0, c0] = [performance.now(), cpuUsage()];
        fns[key]();
        const c1 = cpuUsage(c0);
        if (r >= 0) {
          wall[key].push(performance.now() - t0);
          cpu[key].push((c1.user + c1.system) / 1000);
        }
      }
    }
    const cells = [wall, cpu].map((t) => {
      const [b, o] = [median(t.base), median(t.ours)];
      return `${b.toFixed(2)} | ${o.toFixed(2)} | ${(o / b).toFixed(3)}`;
    });
    rows.push(`| ${backend} | ${what} | ${cells.join(" | ")} |`);
  }
  if (args.modes) {
    const projective = paperInputs(true);
    const variants = [
      ["bilinear", {}, theta],
      ["nearest", { mode: "nearest" }, theta],
      ["bicubic", { mode: "bicubic" }, theta],
      ["bilinear reflection", { paddingMode: "reflection" }, theta],
      ["bilinear projective", {}, projective.theta],
    ] as const;
    for (const [label, extra, th] of variants) {
      for (
        const [what, f, inputs] of [
          ["forward", ourForward, { image, theta: th }],
          ["backward (∂image, ∂θ)", ourGrad, { dy, image, theta: th }],
        ] as const
      ) {
        const fn = run(f, inputs, { ...attrs, ...extra });
        const wall: number[] = [], cpu: number[] = [];
        for (let r = -1; r < reps; r++) {
          const [t0, c0] = [performance.now(), cpuUsage()];
          fn();
          const c1 = cpuUsage(c0);
          if (r >= 0) {
            wall.push(performance.now() - t0);
            cpu.push((c1.user + c1.system) / 1000);
          }
        }
        modeRows.push(
          `| ${backend} | ${label} | ${what} | ${median(wall).toFixed(2)} | ${median(cpu).toFixed(2)} |`,
        );
      }
    }
    tf.dispose([projective.image, projective.theta]);
  }
  tf.dispose([image, theta, dy]);
}
console.log(`load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}, ${reps} reps each`);
console.log(
  "| backend | kernel | wall: baseline ms | this ms | ratio | CPU: baseline ms | this ms | ratio |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
if (modeRows.length > 0) {
  console.log("\n| backend | sampler | kernel | wall ms | CPU ms |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const row of modeRows) console.log(row);
}
