import { type ErrorContext, XentError } from "../errors.js";
import { markUnused, nanScore, where } from "./evaluateBlock.js";
import { badLogProbability, badProbability } from "./logProbs.js";
import { POSITIVE, PREDICTED, type RowResults } from "./rowResults.js";
import { type SigmoidElement, sigmoidElement } from "./sigmoidLoss.js";
import { IGNORED, type LossOptions, type RowBlock, type Scores, SKIPPED, USED } from "./types.js";

/**
 * The binary and multi-label kernels: one sigmoid per score (PyTorch's
 * binary_cross_entropy(_with_logits)), filling the same RowResults the softmax kernel fills.
 * Pure, and a row's bits never depend on the block it arrives in.
 */

/** A target is positive (for accuracy, precision, recall) when above 0.5: argmax of (1 − y, y), ties to 0. */
const positive = (y: number) => y > 0.5;

/** Keras' label smoothing of a binary target: y·(1 − e) + e/2. */
const smooth = (y: number, e: number) => (e === 0 ? y : y * (1 - e) + 0.5 * e);

/**
 * Binary: one score per row, the target 0/1 (or soft, in [0, 1]) or the ignore index. Row fields:
 * loss and nll as for multiclass, pTarget and confidence = p (the positive class's probability),
 * pred = p > threshold, target = the target above 0.5, value = the target as given, brier (p − y)²,
 * rank 0 when pred equals target.
 */
export function evaluateBinaryBlock(block: RowBlock, options: LossOptions, out: RowResults): void {
  const { scores, targets } = block;
  if (targets.kind !== "index") throw new XentError("shape", "binary targets are one value per row");
  const pw = options.posWeight?.[0] ?? 1;
  const element: SigmoidElement = { p: 0, loss: 0, nll: 0 };
  for (let r = 0; r < block.rows; r++) {
    const y = targets.values[r]!;
    if (y === options.ignoreIndex) {
      markUnused(out, r, IGNORED, y);
      continue;
    }
    if (!(y >= 0 && y <= 1)) throw notABinaryTarget(y, where(block, r));
    const s = checkedScore(scores, r, options, block, r);
    if (s !== s) {
      markUnused(out, r, SKIPPED, positive(y) ? 1 : 0, y);
      continue;
    }
    sigmoidElement(s, options.inputType, y, smooth(y, options.smoothing), pw, 1, element);
    const p = element.p;
    const pred = p > options.threshold ? 1 : 0;
    const target = positive(y) ? 1 : 0;
    out.status[r] = USED;
    out.loss[r] = element.loss;
    out.weight[r] = 1;
    out.nll[r] = element.nll;
    out.entropy[r] = 0;
    out.brier[r] = (p - y) * (p - y);
    out.confidence[r] = p;
    out.pTarget[r] = p;
    out.pred[r] = pred;
    out.target[r] = target;
    out.rank[r] = pred === target ? 0 : 1;
    out.value[r] = y;
  }
}

/**
 * Multilabel: C scores and C targets in [0, 1] per row, every element a binary cross-entropy.
 * Row fields: loss = Σ_j w_j·l_ij (weight C, so that the mean is PyTorch's over N × C elements),
 * nll and brier the row's means, target/pred the counts of positive and predicted labels, rank
 * the number of wrong labels (0: an exact match); per-element results in `labels`.
 */
export function evaluateMultilabelBlock(block: RowBlock, options: LossOptions, out: RowResults): void {
  const { scores, targets } = block;
  const C = block.classes;
  const labels = out.labels;
  if (labels === null) throw new Error("multilabel results need per-label arrays");
  if (targets.kind !== "probs") throw new XentError("shape", `multilabel targets are ${C} values per row`);
  const weights = options.classWeights;
  const pws = options.posWeight;
  const e = options.smoothing;
  const element: SigmoidElement = { p: 0, loss: 0, nll: 0 };
  for (let r = 0; r < block.rows; r++) {
    const offset = r * C;
    let nan = false;
    for (let j = 0; j < C; j++) {
      const y = targets.values[offset + j]!;
      if (!(y >= 0 && y <= 1)) throw notABinaryTarget(y, where(block, r), j);
      const s = checkedScore(scores, offset + j, options, block, r);
      if (s !== s) nan = true;
    }
    if (nan) {
      markUnused(out, r, SKIPPED, -1, Number.NaN);
      continue;
    }
    let loss = 0;
    let nll = 0;
    let brier = 0;
    let positives = 0;
    let predicted = 0;
    let wrong = 0;
    for (let j = 0; j < C; j++) {
      const y = targets.values[offset + j]!;
      const pw = pws === null ? 1 : pws.length === 1 ? pws[0]! : pws[j]!;
      const w = weights === null ? 1 : weights[j]!;
      sigmoidElement(scores[offset + j]!, options.inputType, y, smooth(y, e), pw, w, element);
      const p = element.p;
      const isPositive = positive(y);
      const isPredicted = p > options.threshold;
      labels.flags[offset + j] = (isPositive ? POSITIVE : 0) | (isPredicted ? PREDICTED : 0);
      labels.loss[offset + j] = element.loss;
      labels.nll[offset + j] = element.nll;
      loss += element.loss;
      nll += element.nll;
      brier += (p - y) * (p - y);
      if (isPositive) positives++;
      if (isPredicted) predicted++;
      if (isPositive !== isPredicted) wrong++;
    }
    out.status[r] = USED;
    out.loss[r] = loss;
    out.weight[r] = C;
    out.nll[r] = nll / C;
    out.entropy[r] = 0;
    out.brier[r] = brier / C;
    out.confidence[r] = Number.NaN;
    out.pTarget[r] = Number.NaN;
    out.pred[r] = predicted;
    out.target[r] = positives;
    out.rank[r] = wrong;
    out.value[r] = Number.NaN;
  }
}

/**
 * The score at `i`, after checking it is a possible probability (or log-probability); NaN when it
 * is NaN and `--on-nan skip` allows that (else an error).
 */
function checkedScore(scores: Scores, i: number, options: LossOptions, block: RowBlock, r: number): number {
  const s = scores[i]!;
  if (s !== s) {
    if (options.onNan === "skip") return s;
    throw nanScore(block, r);
  }
  // The softmax kernel's checks, on one score: the same bounds (and slack for log-probabilities).
  if (options.inputType === "probs" && badProbability(scores, i, 1) >= 0)
    throw new XentError("value", `probability ${s} is outside [0, 1]`, where(block, r));
  if (options.inputType === "log-probs" && badLogProbability(scores, i, 1) >= 0)
    throw new XentError(
      "value",
      `log-probability ${s} is above 0 (are these logits? drop --input-type log-probs)`,
      where(block, r),
    );
  return s;
}

export function notABinaryTarget(y: number, context: ErrorContext, label?: number) {
  const of = label === undefined ? "" : ` of label ${label}`;
  const why =
    label === undefined
      ? "binary targets are 0, 1 or a probability in between (class indices of more classes: --task multiclass)"
      : "multilabel targets are 0, 1 or a probability in between";
  return new XentError("value", `target ${y}${of} is outside [0, 1]: ${why}`, context);
}
