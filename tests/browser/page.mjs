// The browser test page: imports only dist/browser/rnnspn.js (relative, no import map) and exposes
// one function per test as `window.rnnspnTests[name]()`, each resolving to a detail string or
// throwing. tests/browser/run.mjs drives it in Chromium; results also go into the page's table.
// A computed specifier: `deno check tests/` (CI's check step, before the build) must not need dist/.
const BUILD = "../../dist/browser/rnnspn.js";
const lib = await import(BUILD);
/** ONNX Runtime Web's WASM-only ES module, served from tests/ort's npm install (no CDN). */
const ORT = "../../ort/ort.wasm.min.mjs";
/** The same with the WebGPU execution provider. */
const ORT_WEBGPU = "../../ort/ort.webgpu.min.mjs";

const {
  tf,
  selectBackend,
  describeBackend,
  spatialTransform,
  loadModel,
  createModel,
  DataParallelStep,
} = lib;
const CONFIG = {
  locFilters: 4,
  gruUnits: 16,
  classifierFilters: 6,
  denseUnits: 32,
  downsampleFactor: 3,
  seed: 3,
};

document.getElementById("where").textContent = `${location.pathname} — crossOriginIsolated: ${
  globalThis.crossOriginIsolated === true
}, ${navigator.userAgent}`;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function json(path) {
  const response = await fetch(new URL(path, import.meta.url));
  check(response.ok, `GET ${path}: ${response.status}`);
  return await response.json();
}

/** Largest |a − b| and the tolerance 1e-4 · max(1, max|b|). */
function compare(actual, expected) {
  let err = actual.length === expected.length ? 0 : Infinity, scale = 1;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return { err, tol: 1e-4 * scale };
}

async function golden(backend, options = {}) {
  check(
    await selectBackend(backend, options) === backend,
    `selectBackend("${backend}")`,
  );
  const { cases } = await json("../../golden/grid_sample.json");
  check(cases.length === 16, `16 golden cases, got ${cases.length}`);
  let worst = 0;
  const failures = [];
  for (const c of cases) {
    const [n] = c.image_shape;
    const options = {
      outputSize: c.output_size,
      alignCorners: c.align_corners,
      paddingMode: c.padding_mode,
    };
    const image = tf.tensor4d(c.image, c.image_shape);
    const theta = tf.tensor3d(c.theta, [n, 2, 3]);
    const upstream = tf.tensor(c.upstream, [
      n,
      ...c.output_size,
      c.image_shape[3],
    ]);
    const output = spatialTransform(image, theta, options);
    const grads = tf.grads((im, th) => tf.sum(tf.mul(spatialTransform(im, th, options), upstream)))([
      image,
      theta,
    ]);
    for (
      const [what, actual, expected] of [
        ["output", await output.data(), c.output],
        ["∂image", await grads[0].data(), c.grad_image],
        ["∂θ", await grads[1].data(), c.grad_theta],
      ]
    ) {
      const { err, tol } = compare(actual, expected);
      worst = Math.max(worst, err / tol);
      if (!(err <= tol)) {
        failures.push(`[${c.image_shape}] ${what}: ${err} > ${tol}`);
      }
    }
    tf.dispose([image, theta, upstream, output, ...grads]);
  }
  check(failures.length === 0, failures.join("; "));
  return `16 cases × output, ∂image, ∂θ; worst error / tolerance ${worst.toExponential(2)}; ${
    JSON.stringify(await describeBackend())
  }`;
}

/** Deno's saved model (tests/node/fixture.ts), loaded by URL, on Deno's cluttered test images. */
async function denoModel(backend, exact) {
  check(
    await selectBackend(backend) === backend,
    `selectBackend("${backend}")`,
  );
  const expected = await json("../../fixture/predictions.json");
  // Deno's wasm kernels with or without FMA (relaxed SIMD), whichever this engine runs.
  const key = backend === "wasm" ? ((await describeBackend()).fma ? "wasm-fma" : "wasm-simd128") : "cpu";
  const reference = expected[key];
  check(reference, `the fixture has no ${key} predictions`);
  const model = await loadModel(
    new URL("../../fixture/model/", import.meta.url),
  );
  const images = tf.tensor4d(
    await (await fetch(new URL("../../fixture/images.f32", import.meta.url)))
      .arrayBuffer()
      .then((b) => new Float32Array(b)),
    [expected.samples, 100, 100, 1],
  );
  const p = model.predict(images);
  const logits = Array.from(await p.logits.data());
  const theta = Array.from(await p.theta.data());
  tf.dispose([images, p.logits, p.probabilities, p.digits, p.theta]);
  model.dispose();
  const l = compare(logits, reference.logits),
    t = compare(theta, reference.theta);
  if (exact) {
    check(
      logits.every((v, i) => v === reference.logits[i]),
      `logits differ from Deno's (max ${l.err})`,
    );
    check(
      theta.every((v, i) => v === reference.theta[i]),
      `θ differs from Deno's (max ${t.err})`,
    );
    return `logits and θ equal Deno's ${key} bit for bit (${logits.length} + ${theta.length} values)`;
  }
  check(
    l.err <= l.tol && t.err <= t.tol,
    `max-abs error vs Deno's cpu: logits ${l.err}, θ ${t.err}`,
  );
  return `max-abs error vs Deno's cpu: logits ${l.err.toExponential(2)}, θ ${t.err.toExponential(2)}`;
}

/** One training step (single-process DataParallelStep) from seeded weights: loss and update size. */
async function trainingStep(backend, workers = 1) {
  check(
    await selectBackend(backend) === backend,
    `selectBackend("${backend}")`,
  );
  const model = createModel("rnn-spn", CONFIG);
  const optimizer = tf.train.rmsprop(1e-3, 0.9, 0, 1e-6);
  const images = tf.randomUniform([7, 100, 100, 1], 0, 1, "float32", 11);
  const labels = tf.tidy(() => tf.floor(tf.randomUniform([7, 3], 0, 10, "float32", 12)).toInt());
  const before = model.model.getWeights().map((w) => Array.from(w.dataSync()));
  const step = await DataParallelStep.create(model, { workers });
  const loss = await step.step(optimizer, images, labels);
  const value = (await loss.data())[0];
  const after = model.model.getWeights().map((w) => Array.from(w.dataSync()));
  step.dispose();
  tf.dispose([loss, images, labels]);
  optimizer.dispose();
  model.dispose();
  let moved = 0;
  after.forEach((w, i) => w.forEach((v, j) => moved = Math.max(moved, Math.abs(v - before[i][j]))));
  check(
    Number.isFinite(value) && moved > 0,
    `loss ${value}, largest weight change ${moved}`,
  );
  return { loss: value, weights: after.flat() };
}

const tests = {
  "tfjs works before selectBackend: cpu default, tf.loadLayersModel of Deno's file": async () => {
    const x = tf.add(tf.tensor1d([1, 2]), 1);
    check(JSON.stringify(Array.from(x.dataSync())) === "[2,3]", "tf.add");
    check(tf.getBackend() === "cpu", `default backend ${tf.getBackend()}`);
    x.dispose();
    const model = await tf.loadLayersModel(
      new URL("../../fixture/model/model.json", import.meta.url).href,
    );
    const n = model.countParams();
    model.dispose();
    return `tf.getBackend() = cpu; tf.loadLayersModel: ${n} parameters`;
  },
  "selectBackend() with no options picks a backend and RecurrentAttention predicts": async () => {
    const name = await selectBackend();
    const info = await describeBackend();
    const model = new lib.RecurrentAttention({
      steps: 3,
      downsampleFactor: 3,
    });
    const p = model.predict(tf.zeros([1, 100, 100, 1]));
    const shape = p.digits.shape;
    tf.dispose([p.logits, p.probabilities, p.digits, p.theta]);
    model.dispose();
    check(JSON.stringify(shape) === "[1,3]", `digits shape ${shape}`);
    return `${name}: ${JSON.stringify(info)}`;
  },
  "auto skips a software WebGPU adapter and says why": async () => {
    const adapter = await navigator.gpu?.requestAdapter();
    check(
      adapter,
      "this test needs --enable-unsafe-webgpu (an adapter, software is fine)",
    );
    const name = await selectBackend();
    const info = await describeBackend();
    check(
      adapter.info.isFallbackAdapter ||
        /swiftshader/i.test(adapter.info.architecture),
      "adapter is hardware",
    );
    check(name === "wasm", `auto chose ${name}`);
    check(
      /^software adapter/.test(info.skipped?.webgpu ?? ""),
      `skipped: ${JSON.stringify(info.skipped)}`,
    );
    return `chose wasm; skipped.webgpu = ${info.skipped.webgpu}`;
  },
  "loadMnist by URL, ClutteredMnist samples hash to Deno's, train() without outDir": async () => {
    const { ClutteredMnist, loadMnist, train } = lib;
    await selectBackend("wasm");
    const expected = await json("../../fixture/cluttered.json");
    const mnist = await loadMnist({
      url: new URL("../../mnist/", import.meta.url),
    });
    const data = new ClutteredMnist(mnist, { seed: expected.seed });
    const parts = [];
    for (let i = 0; i < expected.samples; i++) {
      const { image, labels } = data.sample("test", i);
      parts.push(
        new Uint8Array(image.buffer, image.byteOffset, image.byteLength),
      );
      parts.push(
        new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength),
      );
    }
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
    const hex = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", all)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    check(
      hex === expected.sha256,
      `sha256 ${hex} vs Deno's ${expected.sha256}`,
    );
    const small = new ClutteredMnist(mnist, {
      seed: 5,
      sizes: { train: 30, valid: 10, test: 10 },
    });
    const model = createModel("spn", {
      locFilters: 4,
      locDenseUnits: 16,
      classifierFilters: 6,
      denseUnits: 32,
      seed: 3,
    });
    const options = {
      epochs: 1,
      batchSize: 15,
      skipTest: true,
      log: null,
      progress: false,
    };
    const { history } = await train(model, small, options);
    model.dispose();
    check(
      Number.isFinite(history[0].trainLoss),
      `train loss ${history[0].trainLoss}`,
    );
    return `${expected.samples} samples hash to Deno's (${hex.slice(0, 16)}…); one tiny epoch: train loss ${
      history[0].trainLoss
    }`;
  },
  "loadPretrained() with no options: Deno's digits on 200 test sequences, error as recorded": async () => {
    const { ClutteredMnist, loadMnist, loadPretrained, PRETRAINED_URL } = lib;
    const backend = await selectBackend();
    const expected = await json("../../fixture/pretrained.json");
    const provenance = await (await fetch(new URL("../rnn-spn-ds3.json", PRETRAINED_URL))).json();
    check(
      PRETRAINED_URL.href ===
        new URL("../../dist/browser/pretrained/rnn-spn-ds3/model.json", import.meta.url).href,
      `PRETRAINED_URL ${PRETRAINED_URL.href} is not beside rnnspn.js`,
    );
    check(
      JSON.stringify(expected.data) === JSON.stringify(provenance.data),
      "fixture and provenance data differ",
    );
    const model = await loadPretrained();
    const data = new ClutteredMnist(
      await loadMnist({ url: new URL("../../mnist/", import.meta.url) }),
      provenance.data,
    );
    const { images, labels } = data.batch("test", Array.from({ length: expected.samples }, (_, i) => i));
    const p = model.predict(images);
    const digits = Array.from(await p.digits.data());
    const truth = Array.from(await labels.data());
    tf.dispose([images, labels, p.logits, p.probabilities, p.digits, p.theta]);
    model.dispose();
    check(JSON.stringify(truth) === JSON.stringify(expected.labels), "labels differ from Deno's");
    const error = digits.filter((d, i) => d !== truth[i]).length / digits.length;
    // 4 binomial standard deviations of the recorded test error over these digits (0.021 for 600).
    const p0 = provenance.testDigitError, bound = 4 * Math.sqrt(p0 * (1 - p0) / digits.length);
    check(Math.abs(error - p0) <= bound, `digit error ${error}; recorded ${p0} ± ${bound}`);
    check(backend === "wasm", `the default backend is ${backend}, not wasm`);
    const key = (await describeBackend()).fma ? "wasm-fma" : "wasm-simd128";
    check(expected[key], `the fixture has no ${key} digits`);
    const differ = digits.filter((d, i) => d !== expected[key].digits[i]).length;
    check(differ === 0, `${differ} of ${digits.length} digits differ from Deno's ${key}`);
    return `${backend} (${key}): digit error ${error.toFixed(4)} on ${digits.length} digits ` +
      `(recorded ${p0} ± ${bound.toFixed(4)}); all digits equal Deno's`;
  },
  "loadMnist() without a URL: a clear error, no node:fs import": async () => {
    let message = "";
    try {
      await lib.loadMnist();
    } catch (error) {
      message = error.message;
    }
    check(/loadMnist: .*no file system.*give a URL/.test(message), `error: ${message || "none"}`);
    check(!/node:fs|fetch/.test(message), `it tried to import node:fs first: ${message}`);
    return message;
  },
  "golden sampler cases (wasm)": () => golden("wasm"),
  "golden sampler cases (cpu)": () => golden("cpu"),
  "golden sampler cases (webgpu)": () => golden("webgpu"),
  "Deno's model by URL gives Deno's predictions (wasm, bitwise)": () => denoModel("wasm", true),
  "Deno's model by URL gives Deno's predictions (cpu, bitwise)": () => denoModel("cpu", true),
  "Deno's model by URL gives Deno's predictions (webgpu, tolerance)": () => denoModel("webgpu", false),
  "ONNX: exportOnnx in the page gives Deno's bytes; ORT Web (wasm) gives the library's digits and probabilities":
    async () => {
      await selectBackend("wasm");
      const ort = await import(ORT);
      ort.env.wasm.numThreads = 1; // this page is not cross-origin isolated
      const expected = await json("../../fixture/onnx/expected.json");
      const fetchBytes = async (path) => {
        const response = await fetch(new URL(path, import.meta.url));
        check(response.ok, `GET ${path}: ${response.status}`);
        return new Uint8Array(await response.arrayBuffer());
      };
      const deno = await fetchBytes("../../fixture/onnx/rnn-spn-ds3.onnx");
      const pixels = new Float32Array(
        (await fetchBytes("../../fixture/onnx/images.f32")).buffer,
      );
      const model = await loadModel(
        new URL("../../pretrained/rnn-spn-ds3/model.json", import.meta.url)
          .href,
      );
      const bytes = await lib.exportOnnx(model);
      check(
        bytes.length === deno.length && bytes.every((b, i) => b === deno[i]),
        `the page's export (${bytes.length} B) differs from Deno's (${deno.length} B)`,
      );
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: ["wasm"],
      });
      const out = await session.run({
        images: new ort.Tensor("float32", pixels, expected.shape),
      });
      await session.release();
      const images = tf.tensor4d(pixels, expected.shape);
      const p = model.predict(images);
      const digits = Array.from(out.digits.data, Number);
      const ours = Array.from(await p.digits.data());
      const vsPage = compare(
        out.probabilities.data,
        await p.probabilities.data(),
      );
      const vsDeno = compare(out.probabilities.data, expected.probabilities);
      tf.dispose([images, p.logits, p.probabilities, p.digits, p.theta]);
      model.dispose();
      check(
        JSON.stringify(digits) === JSON.stringify(ours),
        `ORT's digits differ from the page's library`,
      );
      check(
        JSON.stringify(digits) === JSON.stringify(expected.digits),
        `ORT's digits differ from Deno's library`,
      );
      check(
        vsPage.err <= 1e-4 && vsDeno.err <= 1e-4,
        `max |Δp| ${vsPage.err} (page), ${vsDeno.err} (Deno)`,
      );
      return `${expected.samples} sequences: ${digits.length} digits equal; max |Δp| ${
        vsPage.err.toExponential(2)
      } (page's library), ${vsDeno.err.toExponential(2)} (Deno's); ${bytes.length} bytes = Deno's`;
    },
  "ONNX: ORT Web's WebGPU execution provider (SwiftShader) gives the library's digits (probabilities within 1e-4)":
    async () => {
      const adapter = await navigator.gpu?.requestAdapter();
      check(
        adapter,
        "this test needs --enable-unsafe-webgpu (an adapter, software is fine)",
      );
      const ort = await import(ORT_WEBGPU);
      ort.env.wasm.numThreads = 1;
      ort.env.webgpu.adapter = adapter;
      const expected = await json("../../fixture/onnx/expected.json");
      const get = async (path) =>
        new Uint8Array(
          await (await fetch(new URL(path, import.meta.url))).arrayBuffer(),
        );
      const bytes = await get("../../fixture/onnx/rnn-spn-ds3.onnx");
      // 1 of the fixture's sequences: on SwiftShader (a CPU) 32 took 40 s.
      const n = 1,
        [, h, w, c] = expected.shape,
        steps = expected.digits.length / expected.samples;
      const pixels = new Float32Array(
        (await get("../../fixture/onnx/images.f32")).buffer,
        0,
        n * h * w * c,
      );
      const t0 = performance.now();
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: ["webgpu"],
      });
      const t1 = performance.now();
      const out = await session.run({
        images: new ort.Tensor("float32", pixels, [n, h, w, c]),
      });
      const t2 = performance.now();
      await session.release();
      const digits = Array.from(out.digits.data, Number);
      const { err } = compare(
        out.probabilities.data,
        expected.probabilities.slice(0, out.probabilities.data.length),
      );
      check(
        JSON.stringify(digits) ===
          JSON.stringify(expected.digits.slice(0, n * steps)),
        `ORT WebGPU's digits differ from Deno's library`,
      );
      check(err <= 1e-4, `max |Δp| ${err}`);
      const seconds = (ms) => (ms / 1000).toFixed(1);
      return `${n} sequences: ${digits.length} digits equal, max |Δp| ${err.toExponential(2)} vs Deno's ` +
        `library (session ${seconds(t1 - t0)} s, run ${seconds(t2 - t1)} s)`;
    },
  // The next two need a page where tfjs-backend-wasm has not initialised yet (it does so once).
  "an explicit wasmPaths wins (the .wasm comes from /wasm-copy/)": async () => {
    check(
      await selectBackend("wasm", { wasmPaths: "/wasm-copy/" }) === "wasm",
      "selectBackend",
    );
    return JSON.stringify(await describeBackend());
  },
  "a wrong wasmPaths: wasm fails naming the folder, auto falls back to cpu with the reason": async () => {
    let message = "";
    try {
      await selectBackend("wasm", { wasmPaths: "/no-such-folder/" });
    } catch (error) {
      message = error.message;
    }
    check(
      /\/no-such-folder\//.test(message),
      `the error does not name the folder: ${message || "no error"}`,
    );
    const name = await selectBackend();
    const info = await describeBackend();
    check(name === "cpu", `auto chose ${name}`);
    check(
      typeof info.skipped?.wasm === "string",
      `skipped: ${JSON.stringify(info.skipped)}`,
    );
    return `rejected (${message.slice(0, 100)}…); auto: ${JSON.stringify(info)}`;
  },
  "cross-origin isolated: threaded wasm, golden cases, one training step (1 and 2 workers)": async () => {
    check(
      globalThis.crossOriginIsolated === true,
      "page is not cross-origin isolated",
    );
    const goldenDetail = await golden("wasm");
    const info = await describeBackend();
    // tfjs sizes its XNNPACK pool from the core count (1 on the 2-core CI machine).
    check(
      info.multithreaded === true,
      `describeBackend: ${JSON.stringify(info)} (threaded build expected)`,
    );
    check(
      Number.isInteger(info.threads) && info.threads >= 1 &&
        info.threads <= navigator.hardwareConcurrency,
      `threads ${info.threads} with ${navigator.hardwareConcurrency} cores`,
    );
    const one = await trainingStep("wasm", 1);
    const two = await trainingStep("wasm", 2);
    const cpu = await trainingStep("cpu", 1);
    const vs = (a, b) => compare(a.weights, b.weights).err;
    check(
      Math.abs(two.loss - one.loss) <= 1e-5 * Math.abs(one.loss),
      `2 workers: loss ${two.loss} vs ${one.loss}`,
    );
    check(
      Math.abs(cpu.loss - one.loss) <= 1e-4 * Math.abs(cpu.loss),
      `cpu loss ${cpu.loss} vs wasm ${one.loss}`,
    );
    return `${JSON.stringify(info)}; ${
      goldenDetail.split(";")[1]
    }; loss wasm ${one.loss}, 2 workers ${two.loss}, ` +
      `cpu ${cpu.loss}; weights max-abs diff: 2 workers ${vs(two, one).toExponential(2)}, cpu ${
        vs(cpu, one).toExponential(2)
      }`;
  },
};

const body = document.getElementById("results");

/** Runs one test, shows it in the table, resolves to `{ ok, detail }`. */
globalThis.rnnspnRun = async (name) => {
  const row = body.insertRow();
  row.insertCell().textContent = name;
  const result = row.insertCell();
  const detail = row.insertCell();
  detail.className = "detail";
  let outcome;
  try {
    outcome = { ok: true, detail: String(await tests[name]()) };
  } catch (error) {
    outcome = { ok: false, detail: error?.stack ?? String(error) };
  }
  result.textContent = outcome.ok ? "pass" : "FAIL";
  result.className = outcome.ok ? "pass" : "fail";
  detail.textContent = outcome.detail;
  return outcome;
};
globalThis.rnnspnTests = Object.keys(tests);
globalThis.rnnspnReady = true;
