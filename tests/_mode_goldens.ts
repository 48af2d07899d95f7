/** The sampler-mode golden cases (`tests/golden/sampler_modes.json`, from `tools/gen_sampler_goldens.py`). */
import type { PaddingMode, SampleMode } from "../mod.ts";

/** One golden case, as the generator writes it. */
export interface ModeCase {
  mode: SampleMode;
  padding_mode: PaddingMode;
  align_corners: boolean;
  transform: "affine" | "projective";
  image_shape: [number, number, number, number];
  output_size: [number, number];
  theta_shape: [number, number];
  image: number[];
  theta: number[];
  upstream: number[];
  output: number[];
  grad_image: number[];
  grad_theta: number[];
}

/** The 36 cases. */
export const MODE_CASES: ModeCase[] = JSON.parse(
  await Deno.readTextFile(new URL("./golden/sampler_modes.json", import.meta.url)),
).cases;

/** A short label of a case. */
export function modeLabel(c: ModeCase): string {
  return `${c.mode} ${c.padding_mode} align=${c.align_corners} ${c.transform} [${c.image_shape}]→${c.output_size}`;
}
