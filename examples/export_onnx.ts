/**
 * Exports a saved model (or the pretrained one) to ONNX, for ONNX Runtime (Web: WASM/WebGPU; Python;
 * native) or any runtime with opset 17's GridSample; with `--check N`, runs the file under
 * onnxruntime-web on N cluttered-MNIST test sequences and compares it with the library.
 *
 *   deno run -A examples/export_onnx.ts pretrained rnn-spn.onnx
 *   deno run -A examples/export_onnx.ts runs/rnn-spn-…/best model.onnx
 *   MNIST_DIR=../shared/mnist deno run -A examples/export_onnx.ts pretrained rnn-spn.onnx --check 200
 *
 * The arguments are checked before anything is loaded: a mistake is one line naming it, exit code 2.
 *
 * @module
 */
import { stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  type AnyModel,
  type BackendName,
  ClutteredMnist,
  exportOnnx,
  loadMnist,
  loadModel,
  loadPretrained,
  selectBackend,
} from "../mod.ts";
import { choiceFlag, intFlag, parseCli, runCli, UsageError } from "./_cli.ts";

const HELP = `Usage: deno run -A examples/export_onnx.ts DIR|pretrained OUT.onnx [flags]

DIR is a model directory (model.json + weights.bin: a run's best/ or a checkpoint) or a run directory (its
best/ is used); \`pretrained\` is the model of loadPretrained(). OUT.onnx is written (replaced if it exists).

  --check N                 run OUT.onnx under onnxruntime-web on the first N test sequences (seed 1)
                            and compare its probabilities and digits with the library's (default 0: no)
  --backend wasm|cpu|webgpu the library's backend (default wasm)
  --help                    this text
`;

const FLAGS = {
  check: { type: "string" },
  backend: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const exists = (path: string) => stat(path).then(() => true, () => false);

await runCli("export_onnx.ts", async () => {
  const { values: args, positionals } = parseCli(Deno.args, FLAGS, true);
  if (args.help) return console.log(HELP);
  if (positionals.length !== 2) {
    throw new UsageError(
      `expected DIR|pretrained and OUT.onnx; got ${positionals.length} arguments (--help)`,
    );
  }
  const check = intFlag("check", (args.check as string | undefined) ?? "0", { min: 0 });
  const backend = choiceFlag("backend", (args.backend as string | undefined) ?? "wasm", [
    "wasm",
    "cpu",
    "webgpu",
  ] as BackendName[]);
  let [dir, out] = positionals;
  if (!out.endsWith(".onnx")) {
    throw new UsageError(`OUT must be a file name ending in .onnx; got ${JSON.stringify(out)}`);
  }
  if (!(await exists(dirname(out)))) throw new UsageError(`OUT's folder ${dirname(out)} does not exist`);
  if (dir !== "pretrained" && !(await exists(`${dir}/model.json`))) {
    if (!(await exists(`${dir}/best/model.json`))) {
      throw new UsageError(
        `${dir} is neither a model directory (no model.json) nor a run directory (no best/)`,
      );
    }
    dir = `${dir}/best`;
  }

  await selectBackend(backend);
  const model: AnyModel = dir === "pretrained"
    ? await loadPretrained()
    : await loadModel(dir, { accept: "rnnspn" });
  const bytes = await exportOnnx(model);
  await writeFile(out, bytes);
  console.log(`${model.kind} from ${dir} → ${out} (${(bytes.length / 1e6).toFixed(2)} MB, ONNX opset 17)`);
  console.log(
    `  input images float32 [batch, ${
      model.inputSize.join(", ")
    }, 1]; outputs logits, probabilities, digits (int64)` + (model.kind === "cnn" ? "" : ", theta"),
  );

  if (check > 0) {
    // onnxruntime-web, one thread, WASM backend: the same runtime as in a browser.
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(bytes);
    const data = new ClutteredMnist(await loadMnist(), { seed: 1 });
    const { images, labels } = data.batch("test", Array.from({ length: check }, (_, i) => i));
    const ours = model.predict(images);
    const theirs = await session.run({
      images: new ort.Tensor("float32", images.dataSync() as Float32Array, images.shape),
    });
    const p = ours.probabilities.dataSync(), q = theirs.probabilities.data as Float32Array;
    const d = ours.digits.dataSync(), e = theirs.digits.data as BigInt64Array;
    let maxDiff = 0, same = 0;
    for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i] - q[i]));
    for (let i = 0; i < d.length; i++) same += Number(e[i]) === d[i] ? 1 : 0;
    console.log(
      `  check on ${check} test sequences: max |Δ probability| ${maxDiff.toExponential(2)}, ` +
        `digits equal ${same}/${d.length}`,
    );
    tf.dispose([images, labels, ours.logits, ours.probabilities, ours.digits, ours.theta!].filter(Boolean));
    await session.release();
    if (same !== d.length || !(maxDiff <= 1e-4)) throw new Error("the ONNX model disagrees with the library");
  }
  model.dispose();
});
