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

/** Max-abs error against a reference and the tolerance 1e-4 · max(1, max|ref|). */
export { maxAbsError as compare } from "./_reference_sampler.ts";

/** A short label of a case: shape, output size and options. */
export function label(c: GoldenCase): string {
  return `[${c.image_shape}]→${c.output_size.join("×")} align=${c.align_corners} ${c.padding_mode}`;
}
