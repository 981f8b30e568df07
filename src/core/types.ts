/** The numeric contract shared by readers, kernels, accumulators and printers. */

export type InputType = "logits" | "probs" | "log-probs";
export type SmoothingStyle = "uniform" | "others";
export type Reduction = "mean" | "sum" | "none";
export type OnNan = "error" | "skip";
/**
 * multiclass: softmax over C scores (F.cross_entropy); binary: one sigmoid score per row;
 * multilabel: C independent sigmoids per row (F.binary_cross_entropy_with_logits).
 */
export type Task = "multiclass" | "binary" | "multilabel";
export const TASKS: readonly Task[] = ["multiclass", "binary", "multilabel"];

/** Everything that changes a number. Printed as `options` and compared by `merge`. */
export interface LossOptions {
  task: Task;
  inputType: InputType;
  temperature: number;
  smoothing: number;
  smoothingStyle: SmoothingStyle;
  /** PyTorch's `weight`: one non-negative number per class, or null for all ones. */
  classWeights: Float64Array | null;
  ignoreIndex: number;
  reduction: Reduction;
  topK: number[];
  onNan: OnNan;
  /** Binary/multilabel: PyTorch's `pos_weight` (one value, or one per label), or null for ones. */
  posWeight: Float64Array | null;
  /** Binary/multilabel: a label is predicted positive when its probability is above this. */
  threshold: number;
}

/** PyTorch's default `ignore_index`, and xent's. */
export const DEFAULT_IGNORE_INDEX = -100;

export type Scores = Float64Array | Float32Array;

export type TargetBlock =
  /** One class index per row (integers, possibly the ignore index). */
  | { kind: "index"; values: Float64Array }
  /** `classes` probabilities per row, row-major. */
  | { kind: "probs"; values: Float64Array };

/**
 * A run of consecutive rows: what every reader produces and every kernel consumes.
 * Row r of the block is sample `start + r` of the whole input.
 */
export interface RowBlock {
  start: number;
  rows: number;
  classes: number;
  /** rows × classes scores, row-major. */
  scores: Scores;
  targets: TargetBlock;
  /** Per-row ids for per-sample output (`--id-column`). */
  ids?: string[] | undefined;
  /** Per-row `--group-by` values. */
  groups?: string[] | undefined;
  /** Per-row 1-based line numbers in the predictions file (text formats), for error messages. */
  lines?: Uint32Array | undefined;
  /**
   * Each row's coordinates in the input when they cannot be computed from its index (a ragged
   * list-of-lists column: [sequence, position]); fixed shapes get theirs from RunInfo.positions.
   */
  pos?: RowPositions | undefined;
  /** Each row's sequence number (language-model runs): --shift-labels and --per-sequence use it. */
  sequences?: Float64Array | undefined;
}

/** Coordinates of a block's rows over every axis but the class axis: rows × dims, row-major. */
export interface RowPositions {
  dims: number;
  values: Float64Array;
}

/** A block's per-row labels besides the index: what per-sample and worst rows print. */
export interface RowLabels {
  ids?: readonly string[] | undefined;
  pos?: RowPositions | undefined;
}

/** Row status codes in RowResults.status. */
export const USED = 0;
export const IGNORED = 1;
export const SKIPPED = 2;
