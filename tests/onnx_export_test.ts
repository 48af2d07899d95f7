/**
 * `exportOnnx` checked by ONNX Runtime (onnxruntime-web's WASM backend, running in Deno): the
 * pretrained RNN-SPN on cluttered-MNIST test sequences, the three kinds at small random configs, the
 * errors, and examples/export_onnx.ts. (Layers: onnx_layers_test.ts; the sampler: onnx_sampler_test.ts.)
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { tf } from "../src/tf.ts";
import {
  type AnyModel,
  ClutteredMnist,
  exportOnnx,
  loadMnist,
  loadPretrained,
  selectBackend,
  type SequenceModel,
} from "../mod.ts";
import { tinyModel } from "./_models.ts";
import { runExample } from "./_example.ts";
import { maxAbs, runOrt } from "./_onnx.ts";

await selectBackend("wasm");

/** Exports `model`, runs it on `images` under ORT and the library, and compares every output. */
async function compareSequenceModel(model: SequenceModel<object>, images: tf.Tensor4D, tol: number) {
  const bytes = await exportOnnx(model);
  const out = await runOrt(bytes, { images });
  const p = model.predict(images);
  try {
    const errors = {
      logits: maxAbs(out.logits.data as Float32Array, p.logits.dataSync()),
      probabilities: maxAbs(out.probabilities.data as Float32Array, p.probabilities.dataSync()),
      theta: p.theta ? maxAbs(out.theta.data as Float32Array, p.theta.dataSync()) : 0,
    };
    assert.deepEqual(out.logits.dims, p.logits.shape);
    assert.equal(out.digits.type, "int64");
    assert.deepEqual(Array.from(out.digits.data as BigInt64Array, Number), Array.from(p.digits.dataSync()));
    if (p.theta) assert.deepEqual(out.theta.dims, p.theta.shape);
    else assert.equal(out.theta, undefined);
    for (const [name, err] of Object.entries(errors)) {
      assert.ok(err <= tol, `${name}: max |ORT − library| ${err}`);
    }
    return errors;
  } finally {
    tf.dispose([p.logits, p.probabilities, p.digits, p.theta!].filter(Boolean));
  }
}

Deno.test("exportOnnx: the pretrained RNN-SPN under ORT matches the library on 64 test sequences (1e-4, same digits)", async () => {
  const model = await loadPretrained();
  const mnist = await loadMnist({ dir: Deno.env.get("MNIST_DIR") ?? "../shared/mnist" });
  const data = new ClutteredMnist(mnist, { seed: 1 });
  const { images, labels } = data.batch("test", Array.from({ length: 64 }, (_, i) => i));
  try {
    const errors = await compareSequenceModel(model, images, 1e-4);
    console.log("pretrained max |ORT − library|:", errors);
  } finally {
    tf.dispose([images, labels]);
    model.dispose();
  }
});

for (const kind of ["rnn-spn", "spn", "cnn"] as const) {
  Deno.test(`exportOnnx: a small random ${kind} under ORT matches the library`, async () => {
    const model: AnyModel = tinyModel(kind, 7);
    // Random weights give θ far from the identity: set the θ head to random values too.
    const head = model.model.layers.find((l) => l.name === "loc_theta");
    if (head) {
      const [k, b] = head.getWeights();
      const kr = tf.randomNormal(k.shape, 0, 0.2, "float32", 1),
        br = tf.add(b, tf.randomNormal(b.shape, 0, 0.2, "float32", 2));
      head.setWeights([kr, br]);
      tf.dispose([kr, br]);
    }
    const images = tf.randomUniform([5, 100, 100, 1], 0, 1, "float32", 11) as tf.Tensor4D;
    try {
      await compareSequenceModel(model, images, 1e-4);
    } finally {
      images.dispose();
      model.dispose();
    }
  });
}

Deno.test("exportOnnx: bad inputs fail naming what is wrong", async () => {
  await assert.rejects(
    () => exportOnnx(null as unknown as tf.LayersModel),
    /exportOnnx: model must be a RecurrentAttention, SpnBaseline, CnnBaseline or tf.LayersModel; got null/,
  );
  await assert.rejects(
    () => exportOnnx({ predict() {} } as unknown as tf.LayersModel),
    /model must be .* got Object/,
  );
  const image = tf.input({ shape: [8, 8, 1], name: "image" });
  const up = tf.layers.upSampling2d({ size: [2, 2], name: "up" }).apply(image) as tf.SymbolicTensor;
  const model = tf.model({ inputs: image, outputs: up });
  await assert.rejects(
    () => exportOnnx(model),
    /exportOnnx: layer "up" \(UpSampling2D\): no ONNX converter for this layer class; supported: .*Conv2D.*RnnspnGlimpses/,
  );
  const free = tf.input({ shape: [null, 8, 1], name: "free" });
  const flat = tf.layers.dense({ units: 2 }).apply(free) as tf.SymbolicTensor;
  await assert.rejects(
    () => exportOnnx(tf.model({ inputs: free, outputs: flat })),
    /exportOnnx: input free has an unknown size after the batch axis \(\[null,null,8,1\]\)/,
  );
  const gelu = tf.layers.dense({ units: 2, activation: "gelu", name: "g" }).apply(
    tf.layers.flatten().apply(image),
  );
  await assert.rejects(
    () => exportOnnx(tf.model({ inputs: image, outputs: gelu as tf.SymbolicTensor })),
    /exportOnnx: activation "gelu" \(at g\) has no ONNX mapping/,
  );
  model.dispose();
});

Deno.test("examples/export_onnx.ts: bad arguments are one line, exit 2; pretrained --check 8 agrees", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The script runs in the temporary folder: MNIST_DIR made absolute.
    const env = { MNIST_DIR: resolve(Deno.env.get("MNIST_DIR") ?? "../shared/mnist") };
    for (
      const [args, message] of [
        [["pretrained"], "expected DIR|pretrained and OUT.onnx; got 1 arguments"],
        [["pretrained", "out.txt"], 'OUT must be a file name ending in .onnx; got "out.txt"'],
        [["no-such-dir", "a.onnx"], "no-such-dir is neither a model directory"],
        [["pretrained", "missing/a.onnx"], "OUT's folder missing does not exist"],
        [["pretrained", "a.onnx", "--check", "x"], '--check must be an integer >= 0; got "x"'],
      ] as const
    ) {
      const { code, stderr } = await runExample("export_onnx.ts", [...args], dir, env);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
      assert.ok(stderr.startsWith(`export_onnx.ts: ${message}`), stderr);
    }
    const { code, stdout, stderr } = await runExample(
      "export_onnx.ts",
      ["pretrained", "m.onnx", "--check", "8"],
      dir,
      env,
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /check on 8 test sequences: max \|Δ probability\| .*, digits equal 24\/24/);
    assert.ok((await Deno.stat(`${dir}/m.onnx`)).size > 1e6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
