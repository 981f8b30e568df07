import type { RowBlock } from "./types.js";

/**
 * Per-row results of one block, struct-of-arrays so that a future WebAssembly kernel can fill the
 * same memory. The accumulators (src/metrics) and the per-sample printers read only this.
 */
export interface RowResults {
  rows: number;
  start: number;
  /** 0 used, 1 ignored (ignore index), 2 skipped (`--on-nan skip`). */
  status: Uint8Array;
  /** PyTorch's per-sample loss (`reduction='none'`): 0 for ignored rows. */
  loss: Float64Array;
  /** The weight this row adds to the mean's denominator: w[y] for index targets, 1 for probabilities. */
  weight: Float64Array;
  /** Unweighted, unsmoothed −Σ t·log p. */
  nll: Float64Array;
  /** −Σ p·log p. */
  entropy: Float64Array;
  /** Σ (p − t)². */
  brier: Float64Array;
  /** max p. */
  confidence: Float64Array;
  /** p of the target class. */
  pTarget: Float64Array;
  /** argmax p, lowest index on ties. */
  pred: Int32Array;
  /** The target class: the index, or the argmax of a probability target. */
  target: Int32Array;
  /**
   * How many classes rank above the target (ties to the lower index): 0 means correct.
   * Binary: 0 or 1 (prediction wrong); multilabel: the number of wrong labels.
   */
  rank: Int32Array;
  /** Binary: the target as given (0, 1, or a soft target in between); NaN otherwise. */
  value: Float64Array;
  /** Multilabel: per element (rows × C, row-major) results; null for the other tasks. */
  labels: LabelResults | null;
}

/** Bits of LabelResults.flags. */
export const POSITIVE = 1;
export const PREDICTED = 2;

/** One sigmoid per label: what per-label counts and the per-class table are made of. */
export interface LabelResults {
  /** POSITIVE: the target is above 0.5; PREDICTED: p is above the threshold. */
  flags: Uint8Array;
  /** The element's loss (weighted, smoothed, pos_weight). */
  loss: Float64Array;
  /** The element's unweighted, unsmoothed binary cross-entropy. */
  nll: Float64Array;
}

export function allocRowResults(capacity: number, labels = 0): RowResults {
  return {
    rows: 0,
    start: 0,
    status: new Uint8Array(capacity),
    loss: new Float64Array(capacity),
    weight: new Float64Array(capacity),
    nll: new Float64Array(capacity),
    entropy: new Float64Array(capacity),
    brier: new Float64Array(capacity),
    confidence: new Float64Array(capacity),
    pTarget: new Float64Array(capacity),
    pred: new Int32Array(capacity),
    target: new Int32Array(capacity),
    rank: new Int32Array(capacity),
    value: new Float64Array(capacity),
    labels:
      labels === 0
        ? null
        : {
            flags: new Uint8Array(capacity * labels),
            loss: new Float64Array(capacity * labels),
            nll: new Float64Array(capacity * labels),
          },
  };
}

/**
 * Reuses `previous` when it is large enough: blocks come one after another. `labels`: the
 * per-element results' width (multilabel), else 0.
 */
export function rowResultsFor(block: RowBlock, previous?: RowResults, labels = 0): RowResults {
  const out =
    previous && previous.status.length >= block.rows && (labels === 0) === (previous.labels === null)
      ? previous
      : allocRowResults(block.rows, labels);
  out.rows = block.rows;
  out.start = block.start;
  return out;
}

/** Copies row `from` of one RowResults into row `to` of another. */
export function copyRow(src: RowResults, from: number, dst: RowResults, to: number): void {
  dst.status[to] = src.status[from]!;
  dst.target[to] = src.target[from]!;
  dst.loss[to] = src.loss[from]!;
  dst.weight[to] = src.weight[from]!;
  dst.nll[to] = src.nll[from]!;
  dst.entropy[to] = src.entropy[from]!;
  dst.brier[to] = src.brier[from]!;
  dst.confidence[to] = src.confidence[from]!;
  dst.pTarget[to] = src.pTarget[from]!;
  dst.pred[to] = src.pred[from]!;
  dst.rank[to] = src.rank[from]!;
  dst.value[to] = src.value[from]!;
}
