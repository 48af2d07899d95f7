import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { ClutteredMnist, loadMnist, selectBackend } from "../mod.ts";

// One MNIST load (MNIST_DIR) and one default data set shared by the tests below.
const mnist = await loadMnist();
const ds = new ClutteredMnist(mnist, { seed: 7 });
const DIGIT = 28;

Deno.test("labels are the drawn digits' labels, left to right, and each digit is drawn where its recipe says", () => {
  const plain = new ClutteredMnist(mnist, { seed: 7, clutter: 0 });
  for (const split of ["train", "valid", "test"] as const) {
    for (let i = 0; i < 50; i++) {
      const r = plain.recipe(split, i);
      const { image, labels } = plain.sample(split, i);
      const src = mnist[r.digits[0].source];
      assert.deepEqual([...labels], r.digits.map((d) => src.labels[d.index]));
      // Without clutter the canvas is exactly the digits (pixel / 255) on zeros.
      const expected = new Float32Array(100 * 100);
      for (const d of r.digits) {
        for (let y = 0; y < DIGIT; y++) {
          for (let x = 0; x < DIGIT; x++) {
            expected[(d.y + y) * 100 + d.x + x] = src.images[d.index * 784 + y * DIGIT + x] / 255;
          }
        }
      }
      assert.deepEqual(image, expected, `${split} ${i}`);
      // Left to right: strictly increasing columns, boxes side by side.
      for (let k = 1; k < r.digits.length; k++) assert.equal(r.digits[k].x, r.digits[k - 1].x + DIGIT);
    }
  }
  // With clutter, digit pixels survive (clutter only adds, then clips to 1).
  for (let i = 0; i < 50; i++) {
    const r = ds.recipe("train", i);
    const { image } = ds.sample("train", i);
    for (const d of r.digits) {
      for (let y = 0; y < DIGIT; y++) {
        for (let x = 0; x < DIGIT; x++) {
          const v = Math.fround(mnist.train.images[d.index * 784 + y * DIGIT + x] / 255);
          assert.ok(image[(d.y + y) * 100 + d.x + x] >= v);
        }
      }
    }
    assert.ok(image.every((v) => v >= 0 && v <= 1));
  }
});

Deno.test("every digit and patch lies inside the canvas; offsets span exactly the spec's ranges", () => {
  const xOffs = new Set<number>(), clutterXs = new Set<number>(), slopes = new Set<number>();
  let maxPatch = 0;
  for (let i = 0; i < 20000; i++) {
    const r = ds.recipe("train", i);
    assert.equal(r.digits.length, 3);
    assert.equal(r.clutter.length, 8);
    for (const d of r.digits) {
      assert.ok(d.x >= 0 && d.x + DIGIT <= 100 && d.y >= 0 && d.y + DIGIT <= 100, JSON.stringify(d));
    }
    xOffs.add(r.digits[0].x);
    // Away from the edges the rows follow yOff + i·slope unclamped.
    if (r.digits.every((d) => d.y > 0 && d.y < 72)) slopes.add(r.digits[1].y - r.digits[0].y);
    for (const c of r.clutter) {
      assert.ok(c.x >= 0 && c.x <= 90 && c.y >= 0 && c.y <= 90, JSON.stringify(c));
      clutterXs.add(c.x).add(c.y);
      maxPatch = Math.max(maxPatch, c.patch);
    }
  }
  const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  assert.deepEqual([...xOffs].sort((a, b) => a - b), range(0, 15)); // 8 + [−8, 7]
  assert.deepEqual([...clutterXs].sort((a, b) => a - b), range(0, 90));
  assert.deepEqual([...slopes].sort((a, b) => a - b), range(-14, 13));
  assert.ok(maxPatch < 100000 && maxPatch > 99000);
  // Edge configurations: digits exactly filling the width, steep slopes, a small canvas.
  for (
    const opts of [{ canvas: 84 }, { canvas: 60, digits: 2, maxSlope: 40, patch: 5 }, {
      canvas: 28,
      digits: 1,
    }]
  ) {
    const small = new ClutteredMnist(mnist, { ...opts, bankSize: 100, sizes: { train: 2000 } });
    const c = small.config.canvas;
    for (let i = 0; i < 2000; i++) {
      const r = small.recipe("train", i);
      for (const d of r.digits) assert.ok(d.x >= 0 && d.x + DIGIT <= c && d.y >= 0 && d.y + DIGIT <= c);
      for (const p of r.clutter) assert.ok(p.x + small.config.patch <= c && p.y + small.config.patch <= c);
      assert.equal(small.sample("train", i).image.length, c * c);
    }
  }
});

Deno.test("the three splits draw from disjoint MNIST pools", () => {
  const seen = { train: [Infinity, -1], valid: [Infinity, -1], test: [Infinity, -1] };
  for (const split of ["train", "valid", "test"] as const) {
    for (let i = 0; i < 10000; i++) {
      for (const d of ds.recipe(split, i).digits) {
        assert.equal(d.source, split === "test" ? "test" : "train");
        seen[split][0] = Math.min(seen[split][0], d.index);
        seen[split][1] = Math.max(seen[split][1], d.index);
      }
    }
  }
  assert.ok(seen.train[0] < 50 && seen.train[1] <= 49999 && seen.train[1] > 49900, `${seen.train}`);
  assert.ok(seen.valid[0] >= 50000 && seen.valid[0] < 50010 && seen.valid[1] > 59990, `${seen.valid}`);
  assert.ok(seen.test[0] < 10 && seen.test[1] > 9990 && seen.test[1] < 10000, `${seen.test}`);
  assert.deepEqual(ds.pool("train"), { source: "train", start: 0, end: 50000 });
  assert.deepEqual(ds.pool("valid"), { source: "train", start: 50000, end: 60000 });
  assert.deepEqual(ds.pool("test"), { source: "test", start: 0, end: 10000 });
});

Deno.test("the same seed gives identical bytes twice; another seed does not", () => {
  const a = new ClutteredMnist(mnist, { seed: 123 });
  const b = new ClutteredMnist(mnist, { seed: 123 });
  const c = new ClutteredMnist(mnist, { seed: 124 });
  // A smaller split keeps its samples: sample i depends on (seed, split, i) only.
  const d = new ClutteredMnist(mnist, { seed: 123, sizes: { valid: 300 } });
  for (const i of [0, 1, 299, 9999]) {
    const x = a.sample("valid", i);
    const y = b.sample("valid", i);
    assert.deepEqual(new Uint8Array(x.image.buffer), new Uint8Array(y.image.buffer));
    assert.deepEqual(x.labels, y.labels);
    assert.notDeepEqual(x.image, c.sample("valid", i).image);
    if (i < 300) assert.deepEqual(x.image, d.sample("valid", i).image);
  }
  // Sample order within a split does not matter (no shared stream state).
  assert.deepEqual(a.sample("train", 5).image, b.sample("train", 5).image);
});

Deno.test("batches: shapes, dtypes, caller-owned tensors, per-epoch permutation, resume from a start batch", async () => {
  await selectBackend("cpu");
  const small = new ClutteredMnist(mnist, { seed: 3, sizes: { train: 250 } });
  const collect = async (opts: Parameters<typeof small.batches>[2]) => {
    const out: { idx: number[]; labels: number[]; shape: number[] }[] = [];
    for await (const { images, labels, indices } of small.batches("train", 64, opts)) {
      assert.equal(images.dtype, "float32");
      assert.equal(labels.dtype, "int32");
      assert.deepEqual(labels.shape, [indices.length, 3]);
      const px = images.dataSync();
      const lb = labels.dataSync();
      // Spot-check one row of the batch against sample().
      const k = indices.length - 1;
      const s = small.sample("train", indices[k]);
      assert.deepEqual(px.subarray(k * 10000, (k + 1) * 10000), s.image);
      assert.deepEqual(lb.subarray(k * 3, k * 3 + 3), s.labels);
      out.push({ idx: [...indices], labels: [...lb], shape: images.shape });
      images.dispose();
      labels.dispose();
    }
    return out;
  };
  const before = tf.memory().numTensors;
  const e0 = await collect({ epoch: 0 });
  assert.equal(tf.memory().numTensors, before, "every yielded tensor is the caller's to dispose");
  assert.deepEqual(e0.map((b) => b.shape), [[64, 100, 100, 1], [64, 100, 100, 1], [64, 100, 100, 1], [
    58,
    100,
    100,
    1,
  ]]);
  const all = e0.flatMap((b) => b.idx);
  assert.deepEqual([...all].sort((a, b) => a - b), Array.from({ length: 250 }, (_, i) => i));
  assert.notDeepEqual(all, Array.from({ length: 250 }, (_, i) => i), "shuffled");
  assert.deepEqual(await collect({ epoch: 0 }), e0, "same (seed, epoch) → same batches");
  const e1 = await collect({ epoch: 1 });
  assert.notDeepEqual(e1.flatMap((b) => b.idx), all, "another epoch → another order");
  assert.deepEqual(await collect({ epoch: 0, start: 2 }), e0.slice(2), "resume mid-epoch");
  assert.deepEqual(
    (await collect({ shuffle: false })).flatMap((b) => b.idx),
    Array.from({ length: 250 }, (_, i) => i),
  );
  assert.equal((await collect({ dropRemainder: true })).length, 3);
  const limited = (await collect({ limit: 100 })).flatMap((b) => b.idx);
  assert.deepEqual(limited.sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.equal(small.numBatches("train", 64), 4);
});

Deno.test("the default data set (60k/10k/10k) stays well under 1 GiB: samples are rendered on demand", async () => {
  await selectBackend("cpu");
  const full = new ClutteredMnist(mnist, { seed: 11 });
  assert.equal(full.size("train") + full.size("valid") + full.size("test"), 80000);
  for await (const { images, labels } of full.batches("train", 256, { limit: 2560 })) {
    images.dispose();
    labels.dispose();
  }
  const rss = Deno.memoryUsage().rss;
  console.log(
    `  process RSS with MNIST, two data sets and 10 batches of 256 rendered: ${
      (rss / 2 ** 20).toFixed(0)
    } MiB`,
  );
  // Pre-rendered float32 images alone would take 80,000 · 40 kB = 3.2 GB.
  assert.ok(rss < 2 ** 30, `RSS ${rss}`);
});

Deno.test("bad arguments throw errors naming the argument, the expectation and the value", () => {
  assert.throws(
    () => ds.sample("train", 60000),
    /index must be an integer in \[0, 59999\] for train, got 60000/,
  );
  assert.throws(
    () => ds.sample("validation" as "valid", 0),
    /split must be "train", "valid" or "test", got "validation"/,
  );
  assert.throws(
    () => new ClutteredMnist(mnist, { digits: 4 }),
    /canvas must be an integer in \[112, Infinity\], got 100/,
  );
  assert.throws(
    () => new ClutteredMnist(mnist, { patch: 28 }),
    /patch must be an integer in \[1, 27\], got 28/,
  );
  assert.throws(() => new ClutteredMnist(mnist, { seed: -1 }), /seed must be an integer/);
  assert.throws(() => ds.batches("train", 0), /batchSize must be a positive integer, got 0/);
});

// ---- pixel statistics against a model derived from the spec and MNIST's own statistics ----

/** Per-pixel mean (/255) and non-zero frequency of the 28×28 images `start..end` of an MNIST split. */
function imageStats(images: Uint8Array, start: number, end: number) {
  const mean = new Float64Array(784), nz = new Float64Array(784);
  let sum2 = 0, nzSum2 = 0;
  for (let n = start; n < end; n++) {
    let s = 0, c = 0;
    for (let p = 0; p < 784; p++) {
      const v = images[n * 784 + p];
      mean[p] += v / 255;
      if (v > 0) (nz[p] += 1), c++;
      s += v / 255;
    }
    sum2 += s * s;
    nzSum2 += c * c;
  }
  const count = end - start;
  for (let p = 0; p < 784; p++) (mean[p] /= count), (nz[p] /= count);
  const meanSum = mean.reduce((a, b) => a + b), nzMeanSum = nz.reduce((a, b) => a + b);
  return {
    mean,
    nz,
    varSum: sum2 / count - meanSum ** 2, // variance of one digit's pixel sum
    varNz: nzSum2 / count - nzMeanSum ** 2, // variance of one digit's non-zero count
  };
}

Deno.test("pixel statistics of 1,000 samples match the spec's expectation (mean, non-zero fraction)", () => {
  const C = 100, K = 3, CLUTTER = 8, P = 9, N = C * C, SAMPLES = 1000;
  const digit = imageStats(mnist.train.images, 0, 50000); // the train split's pool
  const bankSrc = imageStats(mnist.train.images, 0, 60000); // the clutter bank's source
  // Expected 9×9 patch images: a uniform crop offset in [0, 18]² of a bank source digit.
  const patchMean = new Float64Array(P * P), patchNz = new Float64Array(P * P);
  for (let oy = 0; oy <= 18; oy++) {
    for (let ox = 0; ox <= 18; ox++) {
      for (let u = 0; u < P; u++) {
        for (let v = 0; v < P; v++) {
          patchMean[u * P + v] += bankSrc.mean[(oy + u) * 28 + ox + v] / 361;
          patchNz[u * P + v] += bankSrc.nz[(oy + u) * 28 + ox + v] / 361;
        }
      }
    }
  }
  // Digit box positions: x0 = 28i + 8 + U[−8, 7]; y0 = clamp(U[0, 99] + i·U[−14, 13], 0, 72); x ⟂ y.
  const dMean = new Float64Array(N), dNz = new Float64Array(N);
  for (let i = 0; i < K; i++) {
    const py = new Float64Array(C);
    for (let yOff = 0; yOff < 100; yOff++) {
      for (let slope = -14; slope <= 13; slope++) py[Math.max(0, Math.min(yOff + i * slope, 72))] += 1 / 2800;
    }
    for (let j = -8; j <= 7; j++) {
      const x0 = 28 * i + 8 + j;
      for (let y0 = 0; y0 <= 72; y0++) {
        const w = py[y0] / 16;
        if (w === 0) continue;
        for (let r = 0; r < 28; r++) {
          for (let c = 0; c < 28; c++) {
            dMean[(y0 + r) * C + x0 + c] += w * digit.mean[r * 28 + c];
            dNz[(y0 + r) * C + x0 + c] += w * digit.nz[r * 28 + c]; // boxes never share a column: exact
          }
        }
      }
    }
  }
  // Clutter summed over the 8 patches without overwriting, top-left uniform in [0, 90]².
  const cMean = new Float64Array(N), cNz = new Float64Array(N);
  for (let y = 0; y <= C - P; y++) {
    for (let x = 0; x <= C - P; x++) {
      for (let u = 0; u < P; u++) {
        for (let v = 0; v < P; v++) {
          cMean[(y + u) * C + x + v] += (CLUTTER * patchMean[u * P + v]) / 91 ** 2;
          cNz[(y + u) * C + x + v] += (CLUTTER * patchNz[u * P + v]) / 91 ** 2;
        }
      }
    }
  }
  // Expected pixels two patches share: E[(9 − |dx|)+]² with dx the difference of two U[0, 90].
  let side = 0;
  for (let d = -8; d <= 8; d++) side += ((9 - Math.abs(d)) * (91 - Math.abs(d))) / 91 ** 2;
  const pairOverlap = ((CLUTTER * (CLUTTER - 1)) / 2) * side * side;
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  // final = min(1, d + c) with c the overwritten clutter: d + c ≥ final ≥ d + c·[d = 0], and
  // c ≥ Σpatches − (overlapping pairs), digits and clutter independent, hence the bracket:
  const meanHi = (sum(dMean) + sum(cMean)) / N;
  const meanLo = (sum(dMean) + sum(cMean) - pairOverlap - dot(cMean, dNz)) / N;
  const nzHi = (sum(dNz) + sum(cNz)) / N;
  const nzLo = (sum(dNz) + sum(cNz) - pairOverlap - dot(cNz, dNz)) / N;
  // Sampling error of a 1,000-sample average: digit sums' variance from MNIST, patch sums bounded by 81²/4.
  const seMean = Math.sqrt(K * digit.varSum + CLUTTER * (81 * 81) / 4) / N / Math.sqrt(SAMPLES);
  const seNz = Math.sqrt(K * digit.varNz + CLUTTER * (81 * 81) / 4) / N / Math.sqrt(SAMPLES);

  const measure = (d: ClutteredMnist) => {
    let s = 0, nz = 0;
    for (let i = 0; i < SAMPLES; i++) {
      for (const v of d.sample("train", i).image) (s += v), (nz += v > 0 ? 1 : 0);
    }
    return { mean: s / (SAMPLES * N), nz: nz / (SAMPLES * N) };
  };
  const got = measure(ds);
  console.log(
    `  mean ${got.mean.toFixed(5)} in [${meanLo.toFixed(5)}, ${meanHi.toFixed(5)}] ± ${
      (5 * seMean).toFixed(5)
    }`,
  );
  console.log(
    `  non-zero ${got.nz.toFixed(5)} in [${nzLo.toFixed(5)}, ${nzHi.toFixed(5)}] ± ${(5 * seNz).toFixed(5)}`,
  );
  assert.ok(got.mean >= meanLo - 5 * seMean && got.mean <= meanHi + 5 * seMean, `mean ${got.mean}`);
  assert.ok(got.nz >= nzLo - 5 * seNz && got.nz <= nzHi + 5 * seNz, `non-zero fraction ${got.nz}`);
  // Without clutter the canvas is the digits alone: the expectation is exact, two-sided.
  const bare = measure(new ClutteredMnist(mnist, { seed: 7, clutter: 0, bankSize: 1 }));
  const seD = Math.sqrt(K * digit.varSum) / N / Math.sqrt(SAMPLES);
  const seDNz = Math.sqrt(K * digit.varNz) / N / Math.sqrt(SAMPLES);
  console.log(
    `  no clutter: mean ${bare.mean.toFixed(5)} vs ${(sum(dMean) / N).toFixed(5)} ± ${(5 * seD).toFixed(5)}`,
  );
  assert.ok(Math.abs(bare.mean - sum(dMean) / N) < 5 * seD, `mean without clutter ${bare.mean}`);
  assert.ok(Math.abs(bare.nz - sum(dNz) / N) < 5 * seDNz, `non-zero fraction without clutter ${bare.nz}`);
});
