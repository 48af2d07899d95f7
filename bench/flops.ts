/**
 * Analytic FLOP counts of one training sample (forward + backward) of the three models, from their
 * resolved configs. Counted: every multiply-add (×2) of the 3×3 valid convolutions, dense layers,
 * GRU matrix products, and the bilinear sampler (per output pixel: affine grid 12, 4-tap blend 7;
 * backward: ∂image 8, ∂θ 24). Not counted: pools, ReLUs, biases, the loss, clipping and the
 * optimizer update (element-wise, < 1 % of the total at the default sizes).
 *
 * Backward is counted exactly, not as 2× forward: every weight gets its ∂W (same cost as the
 * forward product), and an input gets its ∂x only when something trainable lies below it — so the
 * first convolution on the raw image computes no ∂x (tfjs prunes that gradient), while the
 * classifier's first convolution behind a spatial transformer does (θ needs it).
 *
 * @module
 */
import type { SequenceModel } from "../src/models/base.ts";

/** Forward and backward FLOPs of one sample. */
export interface FlopCount {
  forward: number;
  backward: number;
}

type Item = number | "pool";

class Counter {
  forward = 0;
  backward = 0;
  /** A product of `macs` multiply-adds whose input does (`inputGrad`) or does not need a gradient. */
  product(macs: number, inputGrad: boolean): void {
    this.forward += 2 * macs;
    this.backward += 2 * macs * (inputGrad ? 2 : 1);
  }
  /** A conv/pool stack on `[h, w, c]`; returns the output shape. */
  stack(
    h: number,
    w: number,
    c: number,
    items: readonly Item[],
    inputGrad: boolean,
  ): [number, number, number] {
    for (const item of items) {
      if (item === "pool") {
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
        continue;
      }
      h -= 2;
      w -= 2;
      this.product(h * w * item * 9 * c, inputGrad);
      c = item;
      inputGrad = true;
    }
    return [h, w, c];
  }
  /** Bilinear sampling of `pixels` output pixels × `channels`. */
  sampler(pixels: number, channels: number): void {
    this.forward += pixels * (12 + 7 * channels);
    this.backward += pixels * (8 * channels + 24);
  }
}

/** Forward and backward FLOPs of one training sample of `model` (see the module doc). */
export function trainingFlops(model: SequenceModel<object>): FlopCount {
  // deno-lint-ignore no-explicit-any
  const c = model.config as any;
  const [H, W] = c.inputSize as [number, number];
  const n = new Counter();
  const loc = (): number => {
    const [h, w, ch] = n.stack(
      H,
      W,
      1,
      ["pool", c.locFilters, "pool", c.locFilters, "pool", c.locFilters],
      false,
    );
    return h * w * ch;
  };
  const classifier = (h: number, w: number, filters: number, heads: number): void => {
    const [oh, ow, oc] = n.stack(h, w, 1, [filters, "pool", filters, "pool", filters], model.kind !== "cnn");
    n.product(oh * ow * oc * c.denseUnits, true);
    n.product(c.denseUnits * c.classes * heads, true);
  };
  const glimpse = (): [
    number,
    number,
  ] => [Math.floor(H / c.downsampleFactor), Math.floor(W / c.downsampleFactor)];
  if (model.kind === "rnn-spn") {
    const features = loc();
    const u = c.gruUnits, steps = c.steps;
    // The architecture's minimum, which RepeatedInputGRU runs: the GRU reads the same vector at
    // every step, so its input projection x·W is one product; h·U is zero at the first step.
    // (RepeatVector + tfjs's GRU, or PyTorch's nn.GRU on the repeated input, do x·W `steps` times.)
    n.product(features * 3 * u, true);
    for (let s = 0; s < steps; s++) {
      if (s > 0) n.product(u * 3 * u, true);
      n.product(u * 6, true);
    }
    const [h, w] = glimpse();
    n.sampler(h * w * steps, 1);
    for (let s = 0; s < steps; s++) classifier(h, w, c.classifierFilters, 1);
  } else if (model.kind === "spn") {
    const features = loc();
    n.product(features * c.locDenseUnits, true);
    n.product(c.locDenseUnits * 6, true);
    const [h, w] = glimpse();
    n.sampler(h * w, 1);
    classifier(h, w, c.classifierFilters, c.digits);
  } else {
    classifier(H, W, c.classifierFilters, c.digits);
  }
  return { forward: n.forward, backward: n.backward };
}
