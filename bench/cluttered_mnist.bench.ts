/**
 * The data pipeline: loading MNIST (MD5 + gunzip + IDX checks), building the 100,000-patch clutter bank,
 * and rendering one 100×100 sample and one batch of 64 into tensors (CPU backend).
 *
 *   MNIST_DIR=../shared/mnist deno bench -A bench/cluttered_mnist.bench.ts
 *
 * Without read and env access (the bare `deno bench`) these benches are registered as ignored.
 */
import { ClutteredMnist, loadMnist, selectBackend } from "../mod.ts";
import { CAN_ENV, CAN_READ, noteSkipped } from "./_permissions.ts";

const ignore = !(CAN_READ && CAN_ENV);
if (ignore) noteSkipped("data benches", "no read and env permission for MNIST");
await selectBackend("cpu");
const mnist = ignore ? undefined : await loadMnist();
const ds = mnist && new ClutteredMnist(mnist, { seed: 0 });
let i = 0;

Deno.bench({
  name: "loadMnist: 4 files, MD5 + gunzip + IDX checks",
  ignore,
  n: 3,
  warmup: 1,
  async fn() {
    await loadMnist();
  },
});

Deno.bench({
  name: "ClutteredMnist: build the 100,000-patch clutter bank",
  ignore,
  n: 5,
  warmup: 1,
  fn() {
    new ClutteredMnist(mnist!, { seed: 1 });
  },
});

Deno.bench({
  name: "sample(): render one 100×100 image",
  ignore,
  fn() {
    ds!.sample("train", i++ % 60000);
  },
});

Deno.bench({
  name: "batch(): render 64 images into [64,100,100,1] + [64,3] tensors",
  ignore,
  fn() {
    const start = (i += 64) % (60000 - 64);
    const { images, labels } = ds!.batch("train", Array.from({ length: 64 }, (_, k) => start + k));
    images.dispose();
    labels.dispose();
  },
});
