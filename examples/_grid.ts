/**
 * The reproduction grid as data: the recipes (the authors' and ours) and the rows that
 * `examples/reproduce.ts` trains, one directory each under `results/`.
 *
 * @module
 */
import type { GruInit, ModelKind, OptimizerName, ScheduleName } from "../mod.ts";

// ── The recipes ─────────────────────────────────────────────────────────────────────────────────────
// "paper": the authors' published code (rnn_spn.py / ffn_spn.py), their decay loop included. "step": the
// same with the rate ÷ 1.5 every 10 epochs after epoch 30 — what this grid ran as "paper" before the
// loop was transcribed (it decays at 33, 45, 57, …). "fast": what fits 2 cores — the same peak rate
// decayed to zero by a cosine over a fixed number of epochs, and (beyond the paper, which trained on one
// fixed set of 60,000) fresh training sequences every epoch.

/** Everything `train()` and the data set need to rerun a row. */
export interface Recipe {
  name: "paper" | "step" | "fast";
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  schedule: ScheduleName;
  warmupEpochs: number;
  /** ±1 per element for the RNN-SPN; the feed-forward models clip only the norm (ffn_spn.py). */
  clipValue: number;
  clipNorm: number;
  patience: number;
  freshEpochs: boolean;
  trainEvalSize: number;
}

/** The authors' recipe for `model` (rnn_spn.py; ffn_spn.py clips only the norm). */
export function paperRecipe(model: ModelKind): Recipe {
  return {
    name: "paper",
    epochs: 300,
    batchSize: 100,
    optimizer: "rmsprop",
    learningRate: 5e-4,
    schedule: "paper",
    warmupEpochs: 0,
    clipValue: model === "rnn-spn" ? 1 : 0, // 0: off (and JSON-safe, unlike Infinity)
    clipNorm: 5,
    patience: 50,
    freshEpochs: false,
    trainEvalSize: 10000,
  };
}

/** The authors' recipe with the rate ÷ 1.5 every 10 epochs after epoch 30 (the grid's old "paper"). */
export function stepRecipe(model: ModelKind): Recipe {
  return { ...paperRecipe(model), name: "step", schedule: "step" };
}

/** The paper's optimizer under a cosine over `epochs`, with fresh sequences every epoch. */
export function fastRecipe(model: ModelKind, epochs: number): Recipe {
  return {
    ...paperRecipe(model),
    name: "fast",
    epochs,
    // 1e-3 (with a 2-epoch warm-up) left the plateau in epoch 1, then collapsed to chance for good at
    // 6.7e-4 in epoch 2 (session 10, 39 epochs at loss 2.3011); 5e-4 with no warm-up escapes by epoch 3.
    learningRate: 5e-4,
    schedule: "cosine",
    warmupEpochs: 0,
    patience: epochs, // a cosine run is judged at its end: no early stop
    freshEpochs: true,
    trainEvalSize: 2000,
  };
}

// ── The grid ────────────────────────────────────────────────────────────────────────────────────────
// In the order the issue asks for: the headline (and the pretrained model) first, then the baselines,
// then the down-sampling study, then the paper's own recipe for as long as the budget allows.

/** One row of the grid: a model, its down-sampling and recipe, and what the row may cost. */
export interface Row {
  row: string;
  model: ModelKind;
  /** Glimpse / transformed-image down-sampling; undefined for the CNN, which has no transformer. */
  downsample?: number;
  recipe: Recipe;
  /** Wall-clock cap of the whole row on this machine (hours); a row that reaches it ends as "budget". */
  maxHours: number;
  /** Rough minutes per epoch (train + evaluation, 2 cores), until the row has measured its own. */
  minutesPerEpoch: number;
  /** The paper's per-digit test error, where it reports one. */
  paper?: number;
  /** Seed of the weights, the data and its order (default {@linkcode SEED}). */
  seed?: number;
  /** The RNN-SPN's GRU form (default: tfjs's, Glorot-uniform): the authors' with both switches. */
  gru?: { resetAfter: boolean; init: GruInit };
  /**
   * The comparison the row belongs to, whose rows share one budget: `"epochs-13"` (the three models at
   * the CNN's 13-epoch cosine), `"ds-20"` (the RNN-SPN at DS 1–4, 20-epoch cosine), `"headline"` (the
   * headline over seeds). Rows without one stand alone.
   */
  study?: "epochs-13" | "ds-20" | "headline";
}

/** The rows, in the order the README's table lists them. */
export const GRID: Row[] = [
  {
    row: "rnn-spn-ds3",
    model: "rnn-spn",
    downsample: 3,
    // 40 epochs: the cosine must reach its end inside one session here (≈ 3 min an epoch on a shared
    // 2-core machine), else the row stops with its learning rate still high.
    recipe: fastRecipe("rnn-spn", 40),
    maxHours: 6,
    minutesPerEpoch: 3,
    paper: 0.015,
  },
  {
    row: "spn-ds3",
    model: "spn",
    downsample: 3,
    // 36 epochs: at ≈ 3.3 min an epoch here (326–516 samples/s plus the evaluation) the cosine must end
    // inside one ~2.3 h session, as for rnn-spn-ds3.
    recipe: fastRecipe("spn", 36),
    maxHours: 6,
    minutesPerEpoch: 3.3,
  },
  {
    row: "spn-ds2",
    model: "spn",
    downsample: 2,
    // 28 epochs: at ≈ 4.5 min an epoch here (DS 2 quadruples the classifier's maps against DS 3's 3.3 min)
    // the cosine must end inside one ~2.5 h session, as for the DS 3 rows.
    recipe: fastRecipe("spn", 28),
    maxHours: 6,
    minutesPerEpoch: 4.5,
    paper: 0.02,
  },
  {
    row: "cnn",
    model: "cnn",
    // 13 epochs: at ≈ 9.8 min an epoch on the AMD host (118 samples/s plus the evaluation) the cosine must
    // end inside one ~2.5 h session, because the CNN's 17 M parameters make a resumable checkpoint (weights
    // and RMSprop state, ≈ 140 MB) too large to commit between sessions.
    recipe: fastRecipe("cnn", 13),
    maxHours: 8,
    minutesPerEpoch: 9.8,
    paper: 0.029,
    study: "epochs-13",
  },
  {
    row: "rnn-spn-ds4",
    model: "rnn-spn",
    downsample: 4,
    // The down-sampling study compares rows trained alike: rnn-spn-ds3's 40-epoch cosine.
    recipe: fastRecipe("rnn-spn", 40),
    maxHours: 6,
    minutesPerEpoch: 1.75,
  },
  {
    row: "rnn-spn-ds2",
    model: "rnn-spn",
    downsample: 2,
    recipe: fastRecipe("rnn-spn", 40),
    maxHours: 6,
    minutesPerEpoch: 2.1, // its epoch 1 on the AMD host: 125 s with the evaluation (581 samples/s)
  },
  {
    row: "rnn-spn-ds1",
    model: "rnn-spn",
    downsample: 1,
    // 20 epochs: its 7.1 M parameters make a resumable checkpoint ≈ 85 MB, too large to commit between
    // sessions, so the row must end inside one. The throughput table's 173 samples/s predicted 6.5 min an
    // epoch; its run measured 7–9 min with the evaluation (136–176 samples/s on the AMD host).
    recipe: fastRecipe("rnn-spn", 20),
    maxHours: 8,
    minutesPerEpoch: 8,
    study: "ds-20",
  },
  {
    row: "rnn-spn-ds3-step",
    model: "rnn-spn",
    downsample: 3,
    // Ran as "paper" in sessions 14–17, before the authors' decay loop was transcribed: their recipe with
    // the rate ÷ 1.5 at epochs 31, 41, 51, … instead of 33, 45, 57, … (relabelled, not rerun).
    recipe: stepRecipe("rnn-spn"),
    // 3 h of its 300 epochs' ≈ 6.5 h: 1.5× the 1.9 h in which the fast recipe's 100-epoch row reached
    // 1.62 %, enough to compare the two recipes' time to accuracy. Lowered from 4 h in session 17 so that
    // the row ends inside one more session instead of carrying a checkpoint through two.
    maxHours: 3,
    minutesPerEpoch: 2,
    paper: 0.015,
  },
  {
    row: "rnn-spn-ds3-long",
    model: "rnn-spn",
    downsample: 3,
    // The headline's second try: rnn-spn-ds3's 40-epoch cosine ended under-trained (train 2.28 %, test
    // 2.22 % per-digit error at epoch 40, level all along), so the same recipe stretched to 100 epochs.
    // An RNN-SPN checkpoint is 20 MB, so unlike the CNN this row can span sessions.
    recipe: fastRecipe("rnn-spn", 100),
    maxHours: 8,
    minutesPerEpoch: 1.2,
    paper: 0.015,
  },
  // ── Equal budgets (issue 25) ──
  // The three models at one epoch budget: the CNN's 13-epoch cosine (its checkpoint is too large to
  // carry between sessions, so 13 epochs is what it can afford), the rest trained alike.
  {
    row: "rnn-spn-ds3-e13",
    model: "rnn-spn",
    downsample: 3,
    recipe: fastRecipe("rnn-spn", 13),
    maxHours: 2,
    minutesPerEpoch: 1.2,
    study: "epochs-13",
  },
  {
    // The GRU fidelity switches (reset after the recurrent product, Normal(0.1) init), measured against
    // rnn-spn-ds3-e13 at the same budget and seed.
    row: "rnn-spn-ds3-e13-lasagne",
    model: "rnn-spn",
    downsample: 3,
    recipe: fastRecipe("rnn-spn", 13),
    maxHours: 2,
    minutesPerEpoch: 1.2,
    gru: { resetAfter: true, init: "lasagne" },
  },
  // The down-sampling study at one budget: rnn-spn-ds1's 20-epoch cosine (its 85 MB checkpoint must end
  // inside one session), DS 2–4 trained alike.
  {
    row: "rnn-spn-ds3-e20",
    model: "rnn-spn",
    downsample: 3,
    recipe: fastRecipe("rnn-spn", 20),
    maxHours: 2,
    minutesPerEpoch: 1.2,
    study: "ds-20",
  },
  {
    row: "rnn-spn-ds4-e20",
    model: "rnn-spn",
    downsample: 4,
    recipe: fastRecipe("rnn-spn", 20),
    maxHours: 2,
    minutesPerEpoch: 0.9,
    study: "ds-20",
  },
  {
    row: "rnn-spn-ds2-e20",
    model: "rnn-spn",
    downsample: 2,
    recipe: fastRecipe("rnn-spn", 20),
    maxHours: 3,
    minutesPerEpoch: 2.1,
    study: "ds-20",
  },
  {
    row: "spn-ds3-e13",
    model: "spn",
    downsample: 3,
    recipe: fastRecipe("spn", 13),
    maxHours: 3,
    minutesPerEpoch: 3.3,
    study: "epochs-13",
  },
  {
    row: "spn-ds2-e13",
    model: "spn",
    downsample: 2,
    recipe: fastRecipe("spn", 13),
    maxHours: 3,
    minutesPerEpoch: 4.5,
    paper: 0.02,
    study: "epochs-13",
  },
  // ── The headline over seeds (issue 25) ──
  // The paper's architecture and tfjs's GRU form (the fidelity switches measured no better at 13 epochs:
  // rnn-spn-ds3-e13-lasagne), the fast recipe stretched from rnn-spn-ds3-long's 100 epochs (1.62 %, its
  // cosine converged: last ten epochs 1.62–1.74 %) to 150, three seeds. ≈ 2.8 h a seed on this host, so
  // each row spans sessions on its committed checkpoint.
  ...[1, 2, 3].map((seed): Row => ({
    row: `rnn-spn-ds3-h-s${seed}`,
    model: "rnn-spn",
    downsample: 3,
    recipe: fastRecipe("rnn-spn", 150),
    maxHours: 6,
    minutesPerEpoch: 1.2,
    paper: 0.015,
    seed,
    study: "headline",
  })),
];

/** A row's seed (weights, data and order) unless it names its own. */
export const SEED = 1;
/** Every row's split sizes: the paper's. */
export const SIZES = { train: 60000, valid: 10000, test: 10000 };
/** The test per-digit errors whose first crossing each summary records (`firstReached`). */
export const THRESHOLDS = [0.05, 0.03, 0.02, 0.015];
