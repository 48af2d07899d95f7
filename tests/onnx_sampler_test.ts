/**
 * The exporter's sampler graph (the grid as a MatMul of the base grid with θ, then GridSample) under
 * ONNX Runtime against `spatialTransform`, for every mode, padding, corner alignment and θ kind the
 * op has.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend, spatialTransform, type SpatialTransformOptions } from "../mod.ts";
import { OnnxGraph } from "../src/export/onnx_graph.ts";
import { sample } from "../src/export/onnx_sampler.ts";
import { maxAbs, runOrt } from "./_onnx.ts";

await selectBackend("wasm");

/** Whether `spatialTransform` honours `options` (it throws on options it lacks, or ignores an unknown `mode`). */
function opHas(options: Record<string, unknown>, params: 6 | 9): boolean {
  const probe = tf.tensor4d([0, 1, 4, 9, 16, 25, 36, 49, 64], [1, 3, 3, 1]);
  const theta = tf.tensor2d(
    params === 6 ? [[0.9, 0.1, 0.13, -0.1, 0.8, 0.07]] : [[0.9, 0.1, 0.13, -0.1, 0.8, 0.07, 0, 0, 1]],
  );
  try {
    const out = spatialTransform(probe, theta, options as SpatialTransformOptions);
    const bilinear = spatialTransform(
      probe,
      theta,
      { ...options, mode: undefined } as SpatialTransformOptions,
    );
    const same = maxAbs(out.dataSync(), bilinear.dataSync()) === 0;
    tf.dispose([out, bilinear]);
    return !(options.mode !== undefined && options.mode !== "bilinear" && same);
  } catch {
    return false;
  } finally {
    tf.dispose([probe, theta]);
  }
}

Deno.test("exportOnnx's sampler graph (grid MatMul + GridSample, k = 2 glimpses per image) equals spatialTransform for every mode, padding and θ kind the op has", async () => {
  const [n, k, h, w, c, oh, ow] = [2, 2, 13, 11, 3, 9, 10];
  const image = tf.randomUniform([n, h, w, c], -1, 1, "float32", 31) as tf.Tensor4D;
  const ran: string[] = [], skipped: string[] = [];
  for (const params of [6, 9] as const) {
    // Rotation, zoom, shift, a little perspective; some samples fall outside the image.
    const rows = Array.from({ length: n * k }, (_, m) => {
      const a = 0.3 * m - 0.4, s = 1.1 - 0.15 * m;
      const affine = [
        s * Math.cos(a),
        -s * Math.sin(a),
        0.2 - 0.1 * m,
        s * Math.sin(a),
        s * Math.cos(a),
        0.1 * m - 0.15,
      ];
      return params === 6 ? affine : [...affine, 0.2 - 0.1 * m, 0.1, 1 + 0.05 * m];
    });
    const theta = tf.tensor2d(rows);
    for (const mode of ["bilinear", "nearest", "bicubic"]) {
      for (const paddingMode of ["zeros", "border", "reflection"]) {
        for (const alignCorners of [true, false]) {
          const options = {
            outputSize: [oh, ow],
            alignCorners,
            paddingMode,
            ...(mode === "bilinear" ? {} : { mode }),
          };
          const label = `${mode}/${paddingMode}/${alignCorners ? "align" : "noalign"}/${params}`;
          if (!opHas(options, params)) {
            skipped.push(label);
            continue;
          }
          const graph = new OnnxGraph();
          graph.reserve(["image", "theta", "out"]);
          const x = graph.input("image", [null, h, w, c]);
          const t = graph.input("theta", [null, params]);
          const attrs = { outHeight: oh, outWidth: ow, alignCorners, paddingMode, mode };
          graph.output("out", sample(graph, x, t, params, null, attrs, "sampler", [null, oh, ow, c]));
          const out = await runOrt(graph.encode("sampler", label), { image, theta });
          const expected = spatialTransform(image, theta as tf.Tensor2D, options as SpatialTransformOptions);
          const err = maxAbs(out.out.data as Float32Array, expected.dataSync());
          expected.dispose();
          assert.ok(err <= 1e-4, `${label}: max |ORT − library| ${err}`);
          ran.push(label);
        }
      }
    }
    theta.dispose();
  }
  image.dispose();
  assert.ok(
    ran.length >= 4,
    `bilinear × {zeros, border} × alignCorners (affine) at least; ran ${ran.join(" ")}`,
  );
  console.log(`compared ${ran.length} sampler configurations; ${skipped.length} the op lacks`);
});
