/**
 * The arithmetic ceiling of one core for 128-bit WASM SIMD, with and without fused multiply-add, and
 * where the FMA Winograd tile GEMM stands against it.
 *
 * The peak is measured, not taken from a data sheet: a hand-assembled module runs 12 independent
 * accumulator chains, `a = a·b + c` per lane, either as one `f32x4.relaxed_madd` or as `f32x4.mul`
 * then `f32x4.add`. Twelve chains cover the latency of either form on current x86 and ARM cores, so
 * each loop is bound by the floating-point ports alone. The ratio of the two loops is the most FMA
 * can gain on this core: on cores whose adders are separate from their multipliers (AMD Zen) a mul
 * and an add issue together and the two peaks meet; where the adds share the FMA ports (Intel) FMA
 * doubles the peak.
 *
 * Then the FMA module's tile GEMM (`winograd_gemm_nn`, the CNN-SPN's 96→96 Winograd planes) on one
 * plane that stays in L1 and on 36 planes (1.3 MB of packed U, more than L2), as in the training
 * step.
 *
 *   deno run -A bench/fma_ceiling.ts [--reps 7] [--json]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fmaKernels, fmaStatus } from "../src/kernels/wasm/fma.ts";
import { median, timeAlternating } from "./_timing.ts";

const { values: args } = parseArgs({
  options: { reps: { type: "string", default: "7" }, json: { type: "boolean", default: false } },
});
const reps = Number(args.reps);
if (!Number.isInteger(reps) || reps < 1) {
  throw new Error(`--reps: expected a positive integer, got ${args.reps}`);
}

const CHAINS = 12;

/** `f32x4` opcodes after the 0xfd prefix, LEB128-encoded. */
const OP = { mul: [0xe6, 0x01], add: [0xe4, 0x01], madd: [0x85, 0x02] };

function v128Const(x: number): number[] {
  return [0xfd, 0x0c, ...new Uint8Array(new Float32Array([x, x, x, x]).buffer)];
}

/** `(func (param n i32) (result f32))`: n iterations of CHAINS chains, then the sum of lane 0. */
function body(fused: boolean): number[] {
  const b = CHAINS + 1, c = CHAINS + 2;
  const code: number[] = [0x01, CHAINS + 2, 0x7b]; // CHAINS + 2 v128 locals (zeroed)
  code.push(...v128Const(0.5), 0x21, b, ...v128Const(1), 0x21, c);
  code.push(0x03, 0x40); // loop
  for (let i = 1; i <= CHAINS; i++) {
    code.push(
      ...(fused
        ? [0x20, i, 0x20, b, 0x20, c, 0xfd, ...OP.madd]
        : [0x20, i, 0x20, b, 0xfd, ...OP.mul, 0x20, c, 0xfd, ...OP.add]),
      0x21,
      i,
    );
  }
  code.push(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b); // n -= 1; br_if n; end
  code.push(0x20, 1);
  for (let i = 2; i <= CHAINS; i++) code.push(0x20, i, 0xfd, ...OP.add);
  code.push(0xfd, 0x1f, 0, 0x0b); // extract lane 0; end
  return code;
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

function section(id: number, payload: number[]): number[] {
  return [id, ...leb(payload.length), ...payload];
}

function peakModule(): Uint8Array<ArrayBuffer> {
  const bodies = [false, true].map((fused) => {
    const code = body(fused);
    return [...leb(code.length), ...code];
  });
  const name = (s: string) => [s.length, ...new TextEncoder().encode(s)];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]),
    ...section(3, [2, 0, 0]),
    ...section(7, [2, ...name("muladd"), 0, 0, ...name("madd"), 0, 1]),
    ...section(10, [2, ...bodies[0], ...bodies[1]]),
  ]);
}

/** Median seconds of each run over `reps` alternations with its rivals. */
function medianSeconds<K extends string>(runs: Record<K, () => void>): Record<K, number> {
  const times = timeAlternating(runs, reps);
  return Object.fromEntries(Object.entries<number[]>(times).map(([k, v]) => [k, median(v) / 1000])) as Record<
    K,
    number
  >;
}

const bytes = peakModule();
if (!WebAssembly.validate(bytes)) {
  throw new Error("this engine has no relaxed SIMD: no FMA ceiling to measure");
}
const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as Record<
  string,
  (n: number) => number
>;
const N = 20_000_000;
const flopsPeak = N * CHAINS * 4 * 2;
const peakTimes = medianSeconds({ muladd: () => peak.muladd(N), madd: () => peak.madd(N) });
const gflops = (flops: number, s: number) => flops / s / 1e9;

// The tile GEMM: C [12, 96] = A [12, 96] · B [96, 96], B packed in 8-column panels, as one chunk of
// 12 tiles in the CNN-SPN's 96→96 forward; 36 planes of B (the 6 × 6 Winograd transform) for the
// streamed case.
const M = 12, K = 96, NC = 96, PLANES = 36;
const memory = new WebAssembly.Memory({ initial: 32 }); // 2 MiB
const kernels = fmaKernels(memory);
if (!kernels) throw new Error(`the FMA kernels are not active here: ${JSON.stringify(fmaStatus())}`);
const f32 = new Float32Array(memory.buffer);
const aOff = 0, cOff = 8192, bOff = 65536;
for (let i = 0; i < (bOff + PLANES * K * NC * 4) / 4; i++) f32[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
const inL1 = 2000, streamed = 100;
const tileTimes = medianSeconds({
  l1: () => {
    for (let i = 0; i < inL1; i++) kernels.winograd_gemm_nn(aOff, bOff, cOff, M, K, NC);
  },
  streamed: () => {
    for (let i = 0; i < streamed; i++) {
      for (let p = 0; p < PLANES; p++) kernels.winograd_gemm_nn(aOff, bOff + p * K * NC * 4, cOff, M, K, NC);
    }
  },
});
const flopsTile = 2 * M * K * NC;

const result = {
  muladd_gflops: gflops(flopsPeak, peakTimes.muladd),
  madd_gflops: gflops(flopsPeak, peakTimes.madd),
  tile_l1_gflops: gflops(flopsTile * inL1, tileTimes.l1),
  tile_streamed_gflops: gflops(flopsTile * streamed * PLANES, tileTimes.streamed),
  reps,
  load: (globalThis as { Deno?: { loadavg(): number[] } }).Deno?.loadavg()[0],
};
if (args.json) console.log(JSON.stringify(result));
else {
  const f = (x: number) => x.toFixed(1).padStart(6);
  console.log(`peak, f32x4.mul + f32x4.add     ${f(result.muladd_gflops)} GFLOP/s`);
  console.log(
    `peak, f32x4.relaxed_madd        ${f(result.madd_gflops)} GFLOP/s  (${
      (result.madd_gflops / result.muladd_gflops).toFixed(2)
    }× the mul + add peak)`,
  );
  console.log(
    `FMA tile GEMM [12,96]·[96,96], L1  ${f(result.tile_l1_gflops)} GFLOP/s  (${
      (100 * result.tile_l1_gflops / result.madd_gflops).toFixed(0)
    } % of the FMA peak)`,
  );
  console.log(
    `… over 36 planes (1.3 MB of U)     ${f(result.tile_streamed_gflops)} GFLOP/s  (${
      (100 * result.tile_streamed_gflops / result.madd_gflops).toFixed(0)
    } % of the FMA peak)`,
  );
  console.log(`load ${result.load}`);
}
