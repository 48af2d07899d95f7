/**
 * Messages between the training page (`train_main.ts`) and its training Worker (`train_worker.ts`). Types
 * only: the page's bundle holds no TensorFlow.js.
 *
 * @module
 */
import type { Attention } from "./attention.ts";
import type { EvalPoint, RunConfig } from "./store.ts";

export type { EvalPoint, RunConfig };

/** What to train and how long; sent with Train. */
export interface StartOptions {
  model: RunConfig["model"];
  ds: number;
  batch: number;
  learningRate: number;
  /** Data-parallel instances (1: the training Worker alone). */
  workers: number;
  /** Stop (and checkpoint) when this many steps are done; null: until paused. */
  steps: number | null;
  /** Drop any checkpoint and start from fresh weights. */
  fresh: boolean;
  /** Steps between validation points (curves, boxes and glimpses). */
  evalEvery: number;
  /** Steps between checkpoints while training (one is also written on pause and at the end). */
  checkpointEvery: number;
}

/** Page → Worker. */
export type TrainRequest =
  | {
    type: "init";
    backend: string | null;
    /**
     * Let tfjs-wasm start its threaded build (cross-origin-isolated pages): only for one instance; with
     * several, each runs single-threaded on its core, as in Deno.
     */
    wasmThreads: boolean;
    /** The FMA kernels on or off (`selectBackend`'s `fma`). */
    fma: boolean;
  }
  | { type: "start"; options: StartOptions }
  | { type: "pause" }
  | { type: "export" }
  | { type: "forget" };

/** One of the fixed validation sequences, as the model sees it at a validation point. */
export interface ViewSample extends Attention {
  image: Float32Array;
  labels: number[];
}

/** Worker → page. */
export type TrainReply =
  | { type: "progress"; loaded: number; total: number }
  | {
    type: "ready";
    backend: string;
    detail: string;
    cores: number;
    isolated: boolean;
    checkpoint: { config: RunConfig; step: number; savedAt: string } | null;
  }
  | { type: "mnist-missing"; message: string }
  | {
    type: "started";
    config: RunConfig;
    step: number;
    losses: number[];
    evals: EvalPoint[];
    resumed: boolean;
  }
  | { type: "step"; step: number; loss: number; seconds: number; samplesPerSecond: number }
  | { type: "eval"; point: EvalPoint; view: ViewSample[]; inputSize: [number, number] }
  | { type: "checkpoint"; step: number }
  | { type: "stopped"; step: number; reason: "paused" | "done" }
  | { type: "model"; files: Record<string, Uint8Array | string>; step: number; kind: string }
  | { type: "forgotten" }
  | { type: "error"; message: string };
