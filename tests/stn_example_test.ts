/**
 * examples/stn_mnist.ts: bad flags are one line naming the flag (exit 2, before MNIST is read); a tiny
 * budget runs end to end — both models trained and tested, θ drawn to a PNG, the STN saved with
 * `model.save("file://…")` — and the saved STN reloads with tfjs's own loader.
 */
import assert from "node:assert/strict";
import { decode } from "fast-png";
import { tf } from "../src/tf.ts";
import { selectBackend, SpatialTransformer } from "../mod.ts";
import { runExample } from "./_example.ts";

const MNIST = Deno.env.get("MNIST_DIR") ?? "../shared/mnist";

Deno.test("stn_mnist.ts: bad flags are one line naming the flag, exit 2", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "rnnspn-stn-cli-" });
  try {
    for (
      const [args, expected] of [
        [["--task", "r"], /^stn_mnist\.ts: --task must be one of t, rts, both; got "r"$/],
        [["--train", "0"], /^stn_mnist\.ts: --train must be an integer >= 1 and <= 60000; got "0"$/],
        [["--lr", "-1"], /^stn_mnist\.ts: --lr must be a number > 0; got "-1"$/],
        [["--epochs", "2.5"], /^stn_mnist\.ts: --epochs must be an integer >= 1; got "2\.5"$/],
      ] as const
    ) {
      const out = await runExample("stn_mnist.ts", [...args], cwd, { MNIST_DIR: `${cwd}/none` });
      assert.equal(out.code, 2, out.stderr);
      assert.match(out.stderr.trim(), expected);
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("stn_mnist.ts: a tiny budget trains and tests both models, draws θ, saves a model tfjs reloads", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "rnnspn-stn-run-" });
  try {
    const out = await runExample(
      "stn_mnist.ts",
      [
        "--task",
        "rts",
        "--train",
        "64",
        "--test",
        "32",
        "--epochs",
        "1",
        "--png",
        "theta.png",
        "--save",
        "stn",
      ],
      cwd,
      { MNIST_DIR: await Deno.realPath(MNIST) },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /\| RTS \| CNN \| \d+ \| \d+\.\d\d % \|/);
    assert.match(out.stdout, /\| RTS \| ST-CNN \| \d+ \| \d+\.\d\d % \|/);
    const png = decode(await Deno.readFile(`${cwd}/theta.png`));
    assert.ok(
      png.width > 6 * 42 * 3 && png.height > 42 * 3,
      `a row of 6 canvases: ${png.width}×${png.height}`,
    );
    await selectBackend("cpu");
    const model = await tf.loadLayersModel(`file://${cwd}/stn/rts/model.json`);
    const transformer = model.getLayer("transformer");
    assert.ok(transformer instanceof SpatialTransformer && transformer.localization);
    assert.deepEqual(model.outputs[0].shape, [null, 10]);
    model.dispose();
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
