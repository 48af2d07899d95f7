/** Loads the PyTorch golden cases of the spatial transform (`../shared/golden/grid_sample.json`). */
export interface GoldenCase {
  image_shape: [number, number, number, number];
  output_size: [number, number];
  align_corners: boolean;
  padding_mode: "border" | "zeros";
  image: number[];
  theta: number[];
  output: number[];
  upstream: number[];
  grad_image: number[];
  grad_theta: number[];
}

const shared = Deno.env.get("RNNSPN_SHARED");
const url = shared
  ? new URL(`file://${shared.replace(/\/?$/, "/")}golden/grid_sample.json`)
  : new URL("../../shared/golden/grid_sample.json", import.meta.url);

/** The 16 golden cases (float64 reference values from PyTorch 1.13). */
export const GOLDEN: GoldenCase[] = JSON.parse(await Deno.readTextFile(url)).cases;

/** Max-abs error of `actual` against `expected`, and the tolerance 1e-4 · max(1, max|ref|). */
export function compare(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
): { err: number; tol: number } {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} differs from the reference's ${expected.length}`);
  }
  let err = 0, ref = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    // NaN must count as a failure, not vanish in Math.max.
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    ref = Math.max(ref, Math.abs(expected[i]));
  }
  return { err, tol: 1e-4 * Math.max(1, ref) };
}

/** A short label of a case: shape, output size and options. */
export function label(c: GoldenCase): string {
  return `[${c.image_shape}]→${c.output_size.join("×")} align=${c.align_corners} ${c.padding_mode}`;
}
