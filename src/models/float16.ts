/**
 * Float16 model artifacts: the same tfjs LayersModel files with every float32 weight stored as IEEE
 * half precision and marked `quantization: { dtype: "float16" }`, which tfjs's own weight decoder turns
 * back into float32 on load. Half the bytes (the pretrained RNN-SPN: 3.4 MB instead of 6.7 MB), and a
 * relative rounding error of at most 2⁻¹¹ per weight.
 *
 * @module
 */
import { tf } from "../tf.ts";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The IEEE 754 half-precision bits of `value`, rounded to nearest, ties to even; overflow gives ±∞,
 * NaN stays NaN, values below the smallest subnormal give ±0.
 *
 * @example
 * ```ts
 * import { float16Bits } from "./float16.ts";
 * float16Bits(1); // 0x3c00
 * float16Bits(-2); // 0xc000
 * float16Bits(65520); // 0x7c00 (∞: rounds past the largest half, 65504)
 * ```
 */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: the implicit bit joins the mantissa, shifted further right.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    let h = mant >>> shift;
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  // A carry out of the mantissa correctly bumps the exponent (up to ∞).
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/**
 * `artifacts` with every float32 weight stored as float16 (other dtypes and already quantized weights
 * unchanged). Load the result with any tfjs loader, or this library's `loadModel`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { toFloat16Artifacts } from "./float16.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
 * let half: tf.io.ModelArtifacts | undefined;
 * await model.save(tf.io.withSaveHandler(async (a) => {
 *   half = toFloat16Artifacts(a);
 *   return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
 * }));
 * ```
 */
export function toFloat16Artifacts(artifacts: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const specs = artifacts.weightSpecs;
  if (specs === undefined || artifacts.weightData === undefined) {
    throw new Error("toFloat16Artifacts: the artifacts hold no weights (weightSpecs / weightData missing)");
  }
  const src = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const parts: Uint8Array[] = [];
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    const bytes = q ? n * (q.dtype === "uint8" ? 1 : 2) : n * 4;
    const chunk = src.subarray(offset, offset + bytes);
    if (chunk.byteLength !== bytes) {
      throw new Error(`toFloat16Artifacts: weightData ends inside ${spec.name} (${src.byteLength} bytes)`);
    }
    offset += bytes;
    if (spec.dtype !== "float32" || q !== undefined) {
      parts.push(chunk.slice());
      outSpecs.push(spec);
      continue;
    }
    const values = new Float32Array(chunk.slice().buffer);
    const half = new Uint16Array(n);
    for (let i = 0; i < n; i++) half[i] = float16Bits(values[i]);
    parts.push(new Uint8Array(half.buffer));
    outSpecs.push({ ...spec, quantization: { dtype: "float16" } });
  }
  if (offset !== src.byteLength) {
    throw new Error(`toFloat16Artifacts: ${src.byteLength - offset} bytes of weightData belong to no weight`);
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return { ...artifacts, weightSpecs: outSpecs, weightData: out.buffer };
}
