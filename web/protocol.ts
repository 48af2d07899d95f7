/**
 * Messages between the demo page (`main.ts`) and its prediction Worker (`worker.ts`). Types only: the
 * page's bundle imports nothing of TensorFlow.js.
 *
 * @module
 */

/** Page → Worker. */
export type Request =
  | {
    type: "init";
    backend: string | null;
    model: string;
    /** Use the model the training page left in IndexedDB instead of `model`. */
    trained: boolean;
    subset: string;
    sha256: string;
  }
  | { type: "sequence"; id: number; index: number }
  | { type: "predict"; id: number; pixels: Float32Array; clutterSeed: number | null };

/** What the Worker reports once the model is loaded. */
export interface Ready {
  type: "ready";
  /** The backend that was selected. */
  backend: string;
  /** describeBackend()'s adapter or wasm details, as text. */
  detail: string;
  /** Milliseconds from the Worker's start to a warmed-up model. */
  loadMs: number;
  /** Where the model came from, in words. */
  source: string;
  /** The model's weights. */
  params: number;
  /** Steps (digits per sequence). */
  steps: number;
  /** Input and glimpse sizes `[h, w]`. */
  inputSize: [number, number];
  glimpseSize: [number, number];
}

/** One prediction: the input it was made on, and per step θ, the region, the glimpse and the scores. */
export interface Result {
  type: "result";
  id: number;
  /** The input image (`h · w` values in [0, 1]), clutter included. */
  image: Float32Array;
  /** True labels, when the input is a generated sequence. */
  labels: number[] | null;
  /** The sequence index, when it is one. */
  index: number | null;
  /** Predicted digit per step. */
  digits: number[];
  /** Softmax per step, `steps · 10`. */
  probabilities: Float32Array;
  /** θ per step, `steps · 6` (row-major 2×3). */
  theta: Float32Array;
  /** The sampling region per step: four corners `[x, y]` in input pixels (TL, TR, BR, BL). */
  quads: [number, number][][];
  /** Glimpses, `steps · gh · gw`. */
  glimpses: Float32Array;
  /** Milliseconds of `predict` plus reading its outputs back. */
  ms: number;
}

/** Worker → page. */
export type Reply = Ready | Result | { type: "error"; id: number | null; message: string };
