/**
 * The RNN-SPN's recurrence in ONNX: `RepeatedInputGRU` unrolled over its steps with exactly its
 * arithmetic (one input projection `x·W + b` for all steps; gate order z, r, h; `r` applied before
 * the recurrent product of the candidate; a zero first state whose recurrent products are skipped),
 * and `SplitSteps` as a `Reshape`.
 *
 * @module
 */
import type { OnnxValue } from "./onnx_graph.ts";
import { fail, type LayerConverter } from "./onnx_layers.ts";

/** Columns `[from, from + count)` of a row-major `[rows, cols]` matrix. */
function columns(data: Float32Array, rows: number, cols: number, from: number, count: number): Float32Array {
  const out = new Float32Array(rows * count);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols + from, r * cols + from + count), r * count);
  return out;
}

/** `RepeatedInputGRU`: `[B, in]` → `[B, steps, u]`, every step's state. */
const repeatedInputGru: LayerConverter = (ctx) => {
  const { graph, layer } = ctx;
  const { units: u, steps } = layer as unknown as { units: number; steps: number };
  if (ctx.inputs.length !== 1) fail(ctx, `expects 1 input, got ${ctx.inputs.length}`);
  const x = graph.plain(ctx.inputs[0]);
  const [kernel, recurrent, bias] = ctx.weights;
  const name = layer.name;
  const w = graph.float(kernel.data, kernel.shape, `${name}/kernel`);
  const b = graph.float(bias.data, bias.shape, `${name}/bias`);
  const recurrentZR = graph.float(
    columns(recurrent.data, u, 3 * u, 0, 2 * u),
    [u, 2 * u],
    `${name}/recurrent_zr`,
  );
  const recurrentH = graph.float(columns(recurrent.data, u, 3 * u, 2 * u, u), [u, u], `${name}/recurrent_h`);
  const one = graph.scalar(1, `${name}/one`);
  const split = (v: string, parts: number) =>
    graph.node("Split", [v, graph.ints(Array(parts).fill(u))], { axis: -1 }, name, parts);
  // The one input projection all steps share.
  const [xz, xr, xh] = split(graph.op("Gemm", [x.name, w, b], {}, name), 3);
  const states: string[] = [];
  let h: string | undefined;
  for (let t = 0; t < steps; t++) {
    const hint = `${name}/step${t}`;
    if (h === undefined) {
      // Zero initial state: z = σ(xz), h = (1 − z)·tanh(xh).
      const z = graph.op("Sigmoid", [xz], {}, hint);
      const hh = graph.op("Tanh", [xh], {}, hint);
      h = graph.op("Mul", [graph.op("Sub", [one, z], {}, hint), hh], {}, hint);
    } else {
      const [rz, rr] = split(graph.op("MatMul", [h, recurrentZR], {}, hint), 2);
      const z = graph.op("Sigmoid", [graph.op("Add", [xz, rz], {}, hint)], {}, hint);
      const r = graph.op("Sigmoid", [graph.op("Add", [xr, rr], {}, hint)], {}, hint);
      const rh = graph.op("MatMul", [graph.op("Mul", [r, h], {}, hint), recurrentH], {}, hint);
      const hh = graph.op("Tanh", [graph.op("Add", [xh, rh], {}, hint)], {}, hint);
      h = graph.op(
        "Add",
        [
          graph.op("Mul", [z, h], {}, hint),
          graph.op("Mul", [graph.op("Sub", [one, z], {}, hint), hh], {}, hint),
        ],
        {},
        hint,
      );
    }
    states.push(graph.op("Unsqueeze", [h, graph.ints([1])], {}, hint));
  }
  const y = states.length === 1 ? states[0] : graph.op("Concat", states, { axis: 1 }, name);
  return [{ name: y, shape: ctx.outputShapes[0], nchw: false } satisfies OnnxValue];
};

/** `SplitSteps`: `[B·steps, ...rest]` → `[B, steps, ...rest]` (tfjs order). */
const splitSteps: LayerConverter = (ctx) => {
  const { graph, layer } = ctx;
  const x = graph.plain(ctx.inputs[0]);
  const { steps } = layer as unknown as { steps: number };
  const rest = x.shape.slice(1);
  if (rest.some((d) => d == null)) fail(ctx, `its input's dimensions after the batch must be known`);
  const y = graph.op("Reshape", [x.name, graph.ints([-1, steps, ...rest as number[]])], {}, layer.name);
  return [{ name: y, shape: ctx.outputShapes[0], nchw: false }];
};

/** This library's recurrent-model layers, by tfjs class name. */
export const RECURRENT_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  RnnspnRepeatedInputGRU: repeatedInputGru,
  RnnspnSplitSteps: splitSteps,
};
