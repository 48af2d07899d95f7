/**
 * Spatial transformer networks (Jaderberg et al., 2015) on distorted MNIST, written the way a
 * TensorFlow.js user writes a model: `tf.sequential` + `compile` + `fit`, with this library's
 * `spatialTransformer` layer as the first layer. Two tasks from the paper:
 *
 * - **T**: a 28×28 digit at a random position of a 60×60 canvas;
 * - **RTS**: rotated (±45°), scaled (0.7–1.2) and translated in a 42×42 canvas.
 *
 * For each, the same classifier is trained twice on the same images with the same optimizer and
 * number of epochs: once on the canvas as it is (the baseline), once behind a spatial transformer
 * whose localisation network learns, from the classification loss alone, where to look. The script
 * prints both test errors and can draw the learned θ on a few test inputs.
 *
 * ```sh
 * MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run -A examples/stn_mnist.ts --png docs/stn_mnist.png
 * MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run -A examples/stn_mnist.ts --task rts --train 60000 --epochs 10
 * ```
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import { encode } from "fast-png";
import * as tf from "@tensorflow/tfjs";
import {
  type BackendName,
  describeBackend,
  hashWords,
  identityAffine,
  loadMnist,
  selectBackend,
  spatialTransform,
  type SpatialTransformer,
  spatialTransformer,
  Xoshiro128,
} from "../mod.ts";
import { choiceFlag, intFlag, numberFlag, parseCli, runCli } from "./_cli.ts";
import { type Rgb, RgbCanvas } from "./visualize_draw.ts";

const HELP = `Usage: MNIST_DIR=… deno run -A examples/stn_mnist.ts [flags]

Trains a CNN and the same CNN behind a spatial transformer on distorted MNIST; prints both test errors.

  --task t|rts|both          translated (60×60), rotated-translated-scaled (42×42), or both (default both)
  --train N                  training images, the first N of MNIST's training set (default 10000)
  --test N                   test images, the first N of MNIST's test set (default 2000)
  --epochs E                 epochs over the training images, for both models (default 3)
  --batch B                  batch size (default 32)
  --lr LR                    Adam's learning rate (default 0.002)
  --seed S                   seed of the distortions and of the initial weights (default 1)
  --backend wasm|cpu|webgpu  (default wasm)
  --png FILE                 draw the learned θ on the first test inputs of each task into FILE
  --save DIR                 save each trained STN with model.save("file://DIR/<task>")
  --help                     this text
`;

const FLAGS = {
  task: { type: "string" },
  train: { type: "string" },
  test: { type: "string" },
  epochs: { type: "string" },
  batch: { type: "string" },
  lr: { type: "string" },
  seed: { type: "string" },
  backend: { type: "string" },
  png: { type: "string" },
  save: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** A task: the canvas, the distortions, and the size of the transformer's output. */
interface Task {
  name: "t" | "rts";
  /** Canvas side in pixels. */
  canvas: number;
  /** Rotation drawn uniformly from ±`rotate` degrees. */
  rotate: number;
  /** Scale drawn uniformly from this range (1 = the digit's 28 pixels). */
  scale: [number, number];
  /** Side of the transformer's output, the classifier's input in the STN. */
  glimpse: number;
}

const TASKS: Record<Task["name"], Task> = {
  t: { name: "t", canvas: 60, rotate: 0, scale: [1, 1], glimpse: 30 },
  rts: { name: "rts", canvas: 42, rotate: 45, scale: [0.7, 1.2], glimpse: 28 },
};

// ---------------------------------------------------------------------------------------------
// 1. Data. A distorted digit is the MNIST digit sampled through an affine map: the same sampler the
//    transformer uses, run forwards once. For output (canvas) coordinates p ∈ [-1, 1]² the digit is
//    read at q = A⁻¹ (p − t), where A rotates by α and scales the digit to s·28 of the canvas's pixels,
//    and t moves its centre (kept so that an unrotated digit stays inside the canvas).
// ---------------------------------------------------------------------------------------------

/** θ rows `[n, 6]` that draw digit i with its own rotation, scale and translation. */
function distortions(task: Task, n: number, seed: number, split: number): Float32Array {
  const theta = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) {
    const rng = new Xoshiro128(hashWords(seed, split, i));
    const uniform = (lo: number, hi: number) => lo + (hi - lo) * (rng.nextUint32() / 2 ** 32);
    const alpha = uniform(-task.rotate, task.rotate) * Math.PI / 180;
    const s = uniform(task.scale[0], task.scale[1]) * 28 / task.canvas; // digit half-width, normalised
    const room = Math.max(0, 1 - s);
    const [tx, ty] = [uniform(-room, room), uniform(-room, room)];
    // A⁻¹ = R(−α) / s;  θ = [A⁻¹ | −A⁻¹ t].
    const [c, si] = [Math.cos(alpha) / s, Math.sin(alpha) / s];
    theta.set([c, si, -(c * tx + si * ty), -si, c, -(-si * tx + c * ty)], i * 6);
  }
  return theta;
}

/** The first `n` digits of a split drawn on the task's canvas: images `[n, S, S, 1]` in [0, 1], labels `[n]`. */
function distortedMnist(
  split: { images: Uint8Array; labels: Uint8Array },
  n: number,
  task: Task,
  seed: number,
  splitId: number,
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const theta = distortions(task, n, seed, splitId);
  const parts: tf.Tensor4D[] = [];
  for (let start = 0; start < n; start += 1000) {
    const end = Math.min(n, start + 1000);
    parts.push(tf.tidy(() => {
      const digits = tf.tensor4d(split.images.subarray(start * 784, end * 784), [end - start, 28, 28, 1])
        .toFloat().div(255) as tf.Tensor4D;
      const rows = tf.tensor2d(theta.subarray(start * 6, end * 6), [end - start, 6]);
      const size: [number, number] = [task.canvas, task.canvas];
      return spatialTransform(digits, rows, { outputSize: size, alignCorners: false, paddingMode: "zeros" });
    }));
  }
  const x = tf.concat(parts) as tf.Tensor4D;
  tf.dispose(parts);
  return { x, y: tf.tensor1d(split.labels.subarray(0, n), "float32") };
}

// ---------------------------------------------------------------------------------------------
// 2. Models. The classifier: two conv + max-pool stages and a softmax layer. The STN puts a spatial
//    transformer in front of it: a localisation network (Jaderberg's for MNIST: two conv stages and
//    a hidden dense layer) regresses θ, a 2×3 affine map, from the canvas; the sampler reads the
//    canvas at θ·(x, y, 1) for every output pixel (x, y), giving the classifier a glimpse half the
//    canvas's side (T) or two thirds (RTS). θ's layer starts at the identity (zero kernel,
//    identityAffine bias): at first the glimpse is the whole canvas, downsampled; and it learns
//    slower than the classifier (THETA_INPUT_SCALE).
// ---------------------------------------------------------------------------------------------

/** Initial weights from the run's seed: `k` numbers the layer. */
const init = (seed: number, k: number) => tf.initializers.glorotUniform({ seed: hashWords(seed, 100 + k) });

/** The classifier's layers (the first one takes `inputShape` when it starts the model). */
function classifier(seed: number, inputShape?: number[]): tf.layers.Layer[] {
  return [
    tf.layers.conv2d({
      inputShape,
      filters: 16,
      kernelSize: 5,
      activation: "relu",
      kernelInitializer: init(seed, 1),
    }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: "relu", kernelInitializer: init(seed, 2) }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 10, activation: "softmax", kernelInitializer: init(seed, 3) }),
  ];
}

/**
 * Adam moves every weight by about the learning rate per step whatever its gradient's size, so θ's
 * layer, fed 50 hidden units, would move θ some 50 times faster than that: within 60 batches θ
 * wanders off the canvas and the classifier sees nothing (the STN then stays at chance). Jaderberg et
 * al. give the localisation network a lower learning rate; with one optimizer in `fit`, scaling the
 * θ layer's input by 1/100 does the same for its kernel.
 */
const THETA_INPUT_SCALE = 0.01;

/** The localisation network f_loc: canvas → θ. */
function localization(seed: number): tf.layers.Layer[] {
  return [
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 20, kernelSize: 5, activation: "relu", kernelInitializer: init(seed, 4) }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 20, kernelSize: 5, activation: "relu", kernelInitializer: init(seed, 5) }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 50, activation: "relu", kernelInitializer: init(seed, 6) }),
    tf.layers.rescaling({ scale: THETA_INPUT_SCALE }),
    tf.layers.dense({ units: 6, kernelInitializer: "zeros", biasInitializer: identityAffine() }),
  ];
}

/** The baseline: the classifier on the canvas. */
function cnn(task: Task, seed: number): tf.Sequential {
  return tf.sequential({ name: `cnn_${task.name}`, layers: classifier(seed, [task.canvas, task.canvas, 1]) });
}

/** The STN: spatial transformer → the same classifier on its glimpse. */
function stn(task: Task, seed: number): tf.Sequential {
  const transformer = spatialTransformer({
    name: "transformer",
    inputShape: [task.canvas, task.canvas, 1],
    outputSize: [task.glimpse, task.glimpse],
    localization: localization(seed),
  });
  return tf.sequential({ name: `stn_${task.name}`, layers: [transformer, ...classifier(seed)] });
}

// ---------------------------------------------------------------------------------------------
// 3. Training and test: Adam, cross-entropy, the same epochs, batches and data for both models.
// ---------------------------------------------------------------------------------------------

interface Budget {
  epochs: number;
  batch: number;
  lr: number;
}

interface Score {
  params: number;
  seconds: number;
  loss: number[];
  testError: number;
}

async function trainAndTest(
  model: tf.Sequential,
  train: { x: tf.Tensor4D; y: tf.Tensor1D },
  test: { x: tf.Tensor4D; y: tf.Tensor1D },
  budget: Budget,
): Promise<Score> {
  model.compile({
    optimizer: tf.train.adam(budget.lr),
    loss: "sparseCategoricalCrossentropy",
    metrics: ["accuracy"],
  });
  const t0 = performance.now();
  const history = await model.fit(train.x, train.y, {
    epochs: budget.epochs,
    batchSize: budget.batch,
    shuffle: true,
    verbose: 0,
    callbacks: {
      onEpochEnd: (epoch, logs) =>
        console.log(
          `  ${model.name} epoch ${epoch + 1}/${budget.epochs}: loss ${logs?.loss.toFixed(4)}, ` +
            `train error ${(100 * (1 - (logs?.acc ?? 0))).toFixed(2)}% (${
              ((performance.now() - t0) / 1000).toFixed(0)
            } s)`,
        ),
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const [, accuracy] = model.evaluate(test.x, test.y, { batchSize: 250 }) as tf.Scalar[];
  const testError = 1 - (await accuracy.data())[0];
  return { params: model.countParams(), seconds, loss: history.history.loss as number[], testError };
}

// ---------------------------------------------------------------------------------------------
// 4. The learned θ, drawn: each test canvas with the region the transformer samples (θ applied to
//    the glimpse's corners (±1, ±1), mapped to pixels), and the glimpse the classifier sees.
// ---------------------------------------------------------------------------------------------

const SCALE = 3, PAD = 8, CYAN: Rgb = [0, 200, 255], WHITE: Rgb = [255, 255, 255], BG: Rgb = [32, 32, 32];

interface Drawn {
  task: Task;
  canvases: Float32Array;
  glimpses: Float32Array;
  theta: Float32Array;
  count: number;
}

function drawTheta(model: tf.Sequential, test: { x: tf.Tensor4D }, task: Task, count: number): Drawn {
  const transformer = model.getLayer("transformer") as SpatialTransformer;
  const x = test.x.slice(0, count) as tf.Tensor4D;
  const theta = transformer.localization!.predict(x) as tf.Tensor;
  const glimpses = transformer.apply(x) as tf.Tensor;
  const [canvases, glimpseData, thetaData] = [x, glimpses, theta].map((t) => t.dataSync() as Float32Array);
  tf.dispose([x, theta, glimpses]);
  return { task, count, canvases, glimpses: glimpseData, theta: thetaData };
}

function renderPng(rows: Drawn[]): Uint8Array {
  const tile = (d: Drawn) => PAD + d.task.canvas * SCALE + PAD + d.task.glimpse * SCALE + PAD;
  const width = Math.max(...rows.map((d) => d.count * tile(d))) + PAD;
  const height = rows.reduce((h, d) => h + PAD + d.task.canvas * SCALE + PAD + 12, PAD);
  const img = new RgbCanvas(width, height, BG);
  let top = PAD;
  for (const d of rows) {
    const { canvas: S, glimpse: G } = d.task;
    img.text(d.task.name.toUpperCase(), PAD, top, 2, WHITE);
    top += 12;
    for (let i = 0; i < d.count; i++) {
      const left = PAD + i * tile(d);
      img.drawGrey(d.canvases.subarray(i * S * S, (i + 1) * S * S), S, S, left, top, SCALE);
      // The layer samples with alignCorners (its default): normalised ±1 are the outer pixels' centres.
      const t = d.theta.subarray(i * 6, i * 6 + 6);
      const toPixel = (u: number, v: number): [number, number] => {
        const [x, y] = [t[0] * u + t[1] * v + t[2], t[3] * u + t[4] * v + t[5]];
        return [left + ((x + 1) / 2 * (S - 1) + 0.5) * SCALE, top + ((y + 1) / 2 * (S - 1) + 0.5) * SCALE];
      };
      img.clip = [left, top, S * SCALE, S * SCALE]; // a region reaching past the canvas is cut at its edge
      img.polygon([toPixel(-1, -1), toPixel(1, -1), toPixel(1, 1), toPixel(-1, 1)], CYAN, 2);
      img.clip = null;
      const gl = left + S * SCALE + PAD;
      img.drawGrey(
        d.glimpses.subarray(i * G * G, (i + 1) * G * G),
        G,
        G,
        gl,
        top + (S - G) * SCALE / 2,
        SCALE,
      );
    }
    top += S * SCALE + PAD;
  }
  return encode({ width, height, data: img.data, channels: 3, depth: 8 });
}

// ---------------------------------------------------------------------------------------------
// 5. The run.
// ---------------------------------------------------------------------------------------------

await runCli("stn_mnist.ts", async () => {
  const { values: args } = parseCli(Deno.args, FLAGS);
  if (args.help) {
    console.log(HELP);
    return;
  }
  const flag = (name: string, fallback: string) => (args[name] as string | undefined) ?? fallback;
  const task = choiceFlag("task", flag("task", "both"), ["t", "rts", "both"]);
  const trainCount = intFlag("train", flag("train", "10000"), { min: 1, max: 60000 });
  const testCount = intFlag("test", flag("test", "2000"), { min: 1, max: 10000 });
  const budget: Budget = {
    epochs: intFlag("epochs", flag("epochs", "3"), { min: 1 }),
    batch: intFlag("batch", flag("batch", "32"), { min: 1 }),
    lr: numberFlag("lr", flag("lr", "0.002"), { above: 0 }, false),
  };
  const seed = intFlag("seed", flag("seed", "1"), { min: 0, max: 2 ** 32 - 1 });
  const backend = choiceFlag("backend", flag("backend", "wasm"), ["wasm", "cpu", "webgpu"] as BackendName[]);
  const png = args.png as string | undefined, save = args.save as string | undefined;

  await selectBackend(backend);
  console.log(`backend: ${JSON.stringify(await describeBackend())}`);
  const mnist = await loadMnist();
  const tasks = task === "both" ? [TASKS.t, TASKS.rts] : [TASKS[task]];
  const lines: string[] = [], drawn: Drawn[] = [];
  for (const t of tasks) {
    const train = distortedMnist(mnist.train, trainCount, t, seed, 0);
    const test = distortedMnist(mnist.test, testCount, t, seed, 1);
    console.log(
      `${t.name.toUpperCase()}: ${trainCount} training and ${testCount} test images of ${t.canvas}×${t.canvas}`,
    );
    const scores: Record<string, Score> = {};
    for (const [name, build] of [["CNN", cnn], ["ST-CNN", stn]] as const) {
      const model = build(t, seed);
      scores[name] = await trainAndTest(model, train, test, budget);
      if (name === "ST-CNN" && png) drawn.push(drawTheta(model, test, t, 6));
      if (name === "ST-CNN" && save) await model.save(`file://${save}/${t.name}`);
      model.dispose();
    }
    for (const [name, s] of Object.entries(scores)) {
      lines.push(
        `| ${t.name.toUpperCase()} | ${name} | ${s.params} | ${(100 * s.testError).toFixed(2)} % | ${
          s.seconds.toFixed(0)
        } s |`,
      );
    }
    tf.dispose([train.x, train.y, test.x, test.y]);
  }
  console.log(
    `\n${trainCount} training images, ${budget.epochs} epochs, batch ${budget.batch}, Adam ${budget.lr}, ` +
      `test error on ${testCount} test images (backend ${backend}):\n` +
      `| task | model | parameters | test error | training time |\n|---|---|---|---|---|\n${
        lines.join("\n")
      }`,
  );
  if (png) {
    await writeFile(png, renderPng(drawn));
    console.log(`θ drawn on ${png}`);
  }
});
