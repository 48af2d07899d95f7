/**
 * The spatial transform at the paper's size: images [100, 100, 100, 1], θ [300, 6] (k = 3 glimpses
 * per image, no tiling), output 33×33; forward and forward+backward (∂image and ∂θ), per backend,
 * for bilinear sampling (the paper's, with its own kernels) and, in their own rows, each other
 * sampler: nearest, bicubic, bilinear with reflection padding, bilinear with projective θ [300, 9].
 *
 *   deno bench -A bench/spatial_transform.bench.ts
 *   deno bench -A bench/spatial_transform.bench.ts --filter "/ \[100/"   # the paper's bilinear rows only
 *
 * Tensors are made before `b.start()` and results are read back (`data()`) before `b.end()`, so a
 * measurement covers the kernels and the readback, not the setup. WebGPU benches are ignored where
 * `navigator.gpu` has no adapter. BENCH_N sets the iterations per bench (default 20); BENCH_SLOW=1
 * adds the webgpu reflection forward+backward row (skipped by default: see `SLOW` below).
 *
 * Bytes touched per forward call (the memory-bound floor is bytes / bandwidth): θ 7.2 kB read, at most
 * 4 taps × 326 700 pixels × 4 B ≈ 5.2 MB of image gathered (the image itself is 4 MB), 1.3 MB written.
 * The backward pass also reads the 1.3 MB upstream gradient and writes the 4 MB ∂image.
 */
import { tf } from "../src/tf.ts";
import {
  type BackendName,
  hasWebGpuAdapter,
  selectBackend,
  spatialTransform,
  type SpatialTransformOptions,
} from "../mod.ts";
import { env, ignoreBackend, noteSkipped } from "./_permissions.ts";
import { paperInputs } from "./_spatial_transform_inputs.ts";

const OUT: [number, number] = [33, 33];
const ITERATIONS = Number(env("BENCH_N") ?? 20);
const webgpu = await hasWebGpuAdapter();
// WebGPU's ∂image under reflection padding scans every output pixel of each image element's θ rows
// (O(k·h·w) per element, see src/kernels/webgpu/sample_general.ts): far too slow for a software
// adapter at this size, so that one row runs only on request.
const SLOW = env("BENCH_SLOW") === "1";

/** The rows: bilinear (the paper's sampler; its names predate the others), then each other mode. */
const VARIANTS: { label: string; options: SpatialTransformOptions; projective: boolean }[] = [
  { label: "", options: {}, projective: false },
  { label: "nearest ", options: { mode: "nearest" }, projective: false },
  { label: "bicubic ", options: { mode: "bicubic" }, projective: false },
  { label: "bilinear reflection ", options: { paddingMode: "reflection" }, projective: false },
  { label: "bilinear projective ", options: {}, projective: true },
];

for (const backend of ["cpu", "wasm", "webgpu"] as BackendName[]) {
  const ignore = (backend === "webgpu" && !webgpu) || ignoreBackend(backend);
  if (ignoreBackend(backend)) noteSkipped("wasm benches");
  for (const variant of VARIANTS) benches(backend, ignore, variant);
}

function benches(
  backend: BackendName,
  ignore: boolean,
  { label, options: extra, projective }: (typeof VARIANTS)[number],
): void {
  const options = { outputSize: OUT, ...extra };
  const thetaShape = projective ? "θ[300,9]" : "θ[300,6]";
  const slow = backend === "webgpu" && extra.paddingMode === "reflection" && !SLOW;
  if (slow && !ignore) {
    console.error(
      "note: the webgpu reflection forward+backward bench is ignored (its ∂image scans whole rows); BENCH_SLOW=1 runs it",
    );
  }
  Deno.bench({
    name: `spatialTransform forward ${label}[100,100,100,1] ${thetaShape} → 33×33 (${backend})`,
    group: `forward ${label}`.trim(),
    ignore,
    n: ITERATIONS,
    warmup: 2,
    async fn(b) {
      await selectBackend(backend);
      const { image, theta } = paperInputs(projective);
      b.start();
      const out = spatialTransform(image, theta, options);
      await out.data();
      b.end();
      tf.dispose([image, theta, out]);
    },
  });
  Deno.bench({
    name: `spatialTransform forward+backward ${label}[100,100,100,1] ${thetaShape} → 33×33 (${backend})`,
    group: `forward+backward ${label}`.trim(),
    ignore: ignore || slow,
    n: ITERATIONS,
    warmup: 2,
    async fn(b) {
      await selectBackend(backend);
      const { image, theta } = paperInputs(projective);
      b.start();
      const { value, grads } = tf.valueAndGrads((im: tf.Tensor, th: tf.Tensor) =>
        tf.sum(spatialTransform(im as tf.Tensor4D, th as tf.Tensor2D, options))
      )([image, theta]);
      await Promise.all([value.data(), grads[0].data(), grads[1].data()]);
      b.end();
      tf.dispose([image, theta, value, ...grads]);
    },
  });
}
