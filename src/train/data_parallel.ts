/**
 * Data-parallel training steps: tfjs-backend-wasm's threaded build cannot start under Deno, so one
 * tfjs instance runs per core instead — the main thread plus N−1 Workers, each holding a copy of
 * the model. Every step the batch is cut into N shards; each computes the loss and gradient of its
 * shard (weighted by its share of the batch), the main thread adds the gradients in a fixed order
 * (shard 0 first: deterministic), then clips and applies ONE optimizer update exactly as
 * {@linkcode trainStep} does. The result equals the single-process step up to float summation
 * order — the same identity `trainStep`'s `microBatch` relies on.
 *
 * Weights travel main → workers and gradients workers → main through SharedArrayBuffers. Where
 * the update is fused (the paper's RMSprop on wasm, see `fused_update.ts`) the Workers' gradients
 * go from shared memory straight into its kernel (no tfjs tensors), scaled and summed there, and
 * the new weights are written back into shared memory by the same call; a step copies the model's weights in only when they are not the ones it wrote last (each
 * variable's data is checked by identity), so the model may still be changed between steps
 * (loaded, restored from a checkpoint) without telling this class.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { type BackendName, fmaEnabled } from "../backend.ts";
import type { SequenceModel } from "../models/base.ts";
import { applyClipped, type ClipOptions, gradientsOf, trainableVariables } from "./step.ts";
import { canFuseUpdate, fusedClipRmsprop } from "./fused_update.ts";
import { hostView } from "../ops/host_view.ts";
import type { InitMessage, Reply, StepMessage } from "./data_parallel_worker.ts";
import { startWorker, type WorkerHandle } from "./worker_port.ts";

/**
 * Options of {@linkcode DataParallelStep.create}.
 *
 * @example
 * ```ts
 * import { createModel, type DataParallelOptions, DataParallelStep, selectBackend } from "@rnnspn/core";
 * await selectBackend("wasm");
 * const model = createModel("rnn-spn");
 * const options: DataParallelOptions = { workers: 4, backend: "wasm" }; // the main thread + 3 Workers
 * const parallel = await DataParallelStep.create(model, options);
 * parallel.dispose();
 * ```
 */
export interface DataParallelOptions {
  /** Shards per step = the main thread + `workers − 1` Workers (default 2: one per core here). */
  workers?: number;
  /** Backend of the Workers (default: the main thread's current backend). */
  backend?: BackendName;
}

/** A worker and the promise of its next reply. */
interface Peer {
  worker: WorkerHandle;
  grads: Float32Array;
  next?: Promise<Reply>;
}

function request(worker: WorkerHandle, message: unknown, transfer: Transferable[] = []): Promise<Reply> {
  return new Promise((resolve) => {
    worker.listen((data) => resolve(data as Reply), (message) => resolve({ type: "error", message }));
    worker.post(message, transfer);
  });
}

/**
 * The worker module beside this one. Its name is a literal here: the build (`build/build.ts`)
 * renames it in the bundles it writes, and fails if it does not find it.
 */
const WORKER_MODULE = "./data_parallel_worker.ts";

/**
 * Training steps of one model split across the main thread and Workers (see the module note).
 * Create with {@linkcode DataParallelStep.create}; {@linkcode DataParallelStep.dispose} terminates
 * the Workers.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createModel, DataParallelStep, selectBackend } from "@rnnspn/core";
 * await selectBackend("wasm");
 * const model = createModel("spn", { digits: 3, downsampleFactor: 3 });
 * const optimizer = tf.train.rmsprop(5e-4, 0.9, 0, 1e-6); // the paper's RMSprop
 * const parallel = await DataParallelStep.create(model, { workers: 2 });
 * const images = tf.randomUniform([100, 100, 100, 1]) as tf.Tensor4D;
 * const labels = tf.zeros([100, 3], "int32") as tf.Tensor2D;
 * const loss = await parallel.step(optimizer, images, labels); // = trainStep(model, optimizer, images, labels)
 * console.log(loss.dataSync()[0]);
 * loss.dispose();
 * parallel.dispose();
 * ```
 */
export class DataParallelStep {
  readonly #model: SequenceModel<object>;
  readonly #peers: Peer[];
  readonly #weights: Float32Array;
  /** Each variable's `dataId` when the last fused update wrote `#weights`; null: not in sync. */
  #written: object[] | null = null;
  #disposed = false;

  private constructor(model: SequenceModel<object>, peers: Peer[], weights: Float32Array) {
    this.#model = model;
    this.#peers = peers;
    this.#weights = weights;
  }

  /**
   * Starts `workers − 1` Workers, each building `model`'s kind from its config on `backend`.
   * Resolves once all are ready; rejects (terminating them) if any fails.
   */
  static async create(
    model: SequenceModel<object>,
    options: DataParallelOptions = {},
  ): Promise<DataParallelStep> {
    const { workers = 2, backend = tf.getBackend() as BackendName } = options;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new Error(`DataParallelStep: workers must be a positive integer; got ${workers}`);
    }
    if (typeof SharedArrayBuffer === "undefined") {
      throw new Error(
        "DataParallelStep: SharedArrayBuffer is not available (in a browser the page must be " +
          "cross-origin isolated: served with COOP: same-origin and COEP: require-corp)",
      );
    }
    const vars = trainableVariables(model);
    const size = vars.reduce((n, v) => n + v.size, 0);
    const weights = new Float32Array(new SharedArrayBuffer(size * 4));
    const peers: Peer[] = [];
    try {
      for (let i = 1; i < workers; i++) {
        const grads = new Float32Array(new SharedArrayBuffer(size * 4));
        peers.push({ worker: await startWorker(new URL(WORKER_MODULE, import.meta.url)), grads });
      }
    } catch (error) {
      for (const p of peers) p.worker.terminate();
      throw new Error(`DataParallelStep: could not start a worker: ${(error as Error).message}`);
    }
    // The Workers run the tfjs-wasm build this instance runs: the threaded one only where this one is
    // (a page that leaves threads on for one instance), so one instance per core never grows a thread
    // pool per instance on top (cross-origin-isolated pages would otherwise start the threaded build).
    const wasmThreads = backend === "wasm" &&
      (await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")) === true;
    const init = (p: Peer): InitMessage => ({
      type: "init",
      kind: model.kind,
      config: model.config as Record<string, unknown>,
      backend,
      fma: fmaEnabled(),
      wasmThreads,
      weights: weights.buffer as SharedArrayBuffer,
      grads: p.grads.buffer as SharedArrayBuffer,
      shapes: vars.map((v) => v.shape),
    });
    const replies = await Promise.all(peers.map((p) => request(p.worker, init(p))));
    const failed = replies.find((r) => r.type === "error");
    if (failed) {
      for (const p of peers) p.worker.terminate();
      throw new Error(
        `DataParallelStep: a worker failed to start: ${(failed as { message: string }).message}`,
      );
    }
    return new DataParallelStep(model, peers, weights);
  }

  /** Number of shards per step (main thread + Workers). */
  get workers(): number {
    return this.#peers.length + 1;
  }

  /**
   * One training step of the whole batch — forward, loss, gradient (sharded), clipping, ONE
   * optimizer update — with {@linkcode trainStep}'s semantics. Resolves to the loss (a scalar the
   * caller disposes). Batches smaller than the number of shards use fewer shards.
   */
  async step(
    optimizer: tf.Optimizer,
    images: tf.Tensor4D,
    labels: tf.Tensor2D,
    clip: ClipOptions = {},
  ): Promise<tf.Scalar> {
    if (this.#disposed) throw new Error("DataParallelStep.step: already disposed");
    const batch = images.shape[0];
    if (labels.rank !== 2 || labels.shape[0] !== batch) {
      throw new Error(
        `DataParallelStep.step: labels must be [${batch}, S] for images [${images.shape}]; got [${labels.shape}]`,
      );
    }
    const vars = trainableVariables(this.#model);
    // Current weights into shared memory (the workers copy them in before computing), unless the
    // last fused update already wrote exactly these there.
    const written = this.#written;
    this.#written = null;
    if (!written || vars.some((v, i) => v.dataId !== written[i])) {
      let offset = 0;
      for (const v of vars) {
        this.#weights.set(hostView(v) as Float32Array, offset);
        offset += v.size;
      }
    }
    // Shard k: rows [bounds[k], bounds[k+1]); the main thread takes shard 0.
    const shards = Math.min(this.workers, batch);
    const bounds = Array.from({ length: shards + 1 }, (_, k) => Math.round(k * batch / shards));
    /** Shard k's share of the batch: its loss and gradient are scaled by it. */
    const shareOf = (k: number) => (bounds[k + 1] - bounds[k]) / batch;
    const used = this.#peers.slice(0, shards - 1);
    if (used.length > 0) {
      // Only the shards are copied (out of tfjs's heap on wasm); their buffers are then transferred.
      // The labels first: fetching them may move their data into (and grow) tfjs's heap, which
      // would detach a view of the images taken before.
      const y = Int32Array.from(hostView(labels));
      const x = hostView(images) as Float32Array;
      const [, h, w, c] = images.shape;
      const s = labels.shape[1];
      used.forEach((p, i) => {
        const [from, to] = [bounds[i + 1], bounds[i + 2]];
        const message: StepMessage = {
          type: "step",
          images: x.slice(from * h * w * c, to * h * w * c),
          imagesShape: [to - from, h, w, c],
          labels: Int32Array.from(y.subarray(from * s, to * s)),
          labelsShape: [to - from, s],
          weight: shareOf(i + 1),
        };
        p.next = request(p.worker, message, [
          message.images.buffer as ArrayBuffer,
          message.labels.buffer as ArrayBuffer,
        ]);
      });
    }
    // The main thread's shard runs while the workers compute theirs. The gradients are scaled by
    // their shard's share of the batch inside the fused update, or below on tfjs's path.
    const rows = bounds[1];
    const share = shareOf(0);
    let mine: { loss: tf.Scalar; grads: tf.Tensor[] };
    try {
      mine = tf.tidy(() => {
        const x = rows === batch ? images : tf.slice(images, [0, 0, 0, 0], [rows, -1, -1, -1]);
        const y = rows === batch ? labels : tf.slice(labels, [0, 0], [rows, -1]);
        const { loss, grads } = gradientsOf(this.#model, x, y);
        return { loss, grads };
      });
    } catch (error) {
      // Wait for the workers even so: no reply may be left in flight for the next step.
      await Promise.all(used.map((p) => p.next!));
      throw error;
    }
    const replies = await Promise.all(used.map((p) => p.next!));
    const failed = replies.find((r) => r.type === "error");
    if (failed) {
      tf.dispose([mine.loss, ...mine.grads]);
      throw new Error(`DataParallelStep.step: a worker failed: ${(failed as { message: string }).message}`);
    }
    // Sum in a fixed order: shard 0 (main), then worker 1, 2, … — deterministic.
    const loss = tf.tidy(() =>
      used.reduce(
        (sum, _, i) => tf.add(sum, (replies[i] as { loss: number }).loss),
        tf.mul(mine.loss, share),
      ) as tf.Scalar
    );
    try {
      if (canFuseUpdate(optimizer, vars, mine.grads)) {
        const { clipValue = 1, clipNorm = 5 } = clip;
        fusedClipRmsprop(optimizer, vars, mine.grads, { clipValue, clipNorm }, {
          gradScale: share,
          shards: used.map((p, i) => ({ grads: p.grads, scale: shareOf(i + 1) })),
          weightsOut: this.#weights,
        });
        this.#written = vars.map((v) => v.dataId);
      } else {
        const grads = tf.tidy(() =>
          mine.grads.map((g, v) => {
            const at = vars.slice(0, v).reduce((n, u) => n + u.size, 0);
            return used.reduce(
              (sum, p, i) =>
                tf.add(sum, tf.mul(tf.tensor(p.grads.slice(at, at + g.size), g.shape), shareOf(i + 1))),
              tf.mul(g, share),
            );
          })
        );
        try {
          applyClipped(optimizer, vars, grads, clip);
        } finally {
          tf.dispose(grads);
        }
      }
    } catch (error) {
      loss.dispose();
      throw error;
    } finally {
      tf.dispose([mine.loss, ...mine.grads]);
    }
    return loss;
  }

  /** Terminates the Workers (the model stays the caller's). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const p of this.#peers) p.worker.terminate();
  }
}
