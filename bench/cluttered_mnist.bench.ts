/**
 * The data pipeline: loading MNIST (MD5 + gunzip + IDX checks), building the 100,000-patch clutter bank,
 * and rendering one 100×100 sample and one batch of 64 into tensors (CPU backend).
 *
 *   MNIST_DIR=../shared/mnist deno bench -A bench/cluttered_mnist.bench.ts
 */
import { ClutteredMnist, loadMnist, selectBackend } from "../mod.ts";

await selectBackend("cpu");
const mnist = await loadMnist();
const ds = new ClutteredMnist(mnist, { seed: 0 });
let i = 0;

Deno.bench("loadMnist: 4 files, MD5 + gunzip + IDX checks", { n: 3, warmup: 1 }, async () => {
  await loadMnist();
});

Deno.bench("ClutteredMnist: build the 100,000-patch clutter bank", { n: 5, warmup: 1 }, () => {
  new ClutteredMnist(mnist, { seed: 1 });
});

Deno.bench("sample(): render one 100×100 image", () => {
  ds.sample("train", i++ % 60000);
});

Deno.bench("batch(): render 64 images into [64,100,100,1] + [64,3] tensors", () => {
  const start = (i += 64) % (60000 - 64);
  const { images, labels } = ds.batch("train", Array.from({ length: 64 }, (_, k) => start + k));
  images.dispose();
  labels.dispose();
});
