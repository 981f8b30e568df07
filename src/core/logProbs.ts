import type { InputType, Scores } from "./types.js";

/**
 * Writes the log-probabilities of one row into `lp` and returns false when a score is NaN.
 *
 * Logits use PyTorch's float64 log_softmax: lp = (x − max) − log Σ exp(x − max), which is exact
 * for −inf logits and never overflows. A row of only −inf (or any +inf) gives NaN, as in PyTorch.
 */
export function logProbs(
  scores: Scores,
  offset: number,
  classes: number,
  inputType: InputType,
  temperature: number,
  lp: Float64Array,
): boolean {
  if (inputType === "logits") {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) {
      const x = temperature === 1 ? scores[offset + c]! : scores[offset + c]! / temperature;
      if (x !== x) return false;
      lp[c] = x;
      if (x > max) max = x;
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(lp[c]! - max);
    const logSum = Math.log(sum);
    for (let c = 0; c < classes; c++) lp[c] = lp[c]! - max - logSum;
    return true;
  }
  for (let c = 0; c < classes; c++) {
    const x = scores[offset + c]!;
    if (x !== x) return false;
    lp[c] = inputType === "probs" ? Math.log(x) : x;
  }
  return true;
}

/**
 * The first class whose log-probability is above 0 (a probability above 1), or −1. The slack
 * allows for rounding in whatever wrote the file; it never lets a logit pass for a log-probability.
 */
export function badLogProbability(scores: Scores, offset: number, classes: number): number {
  for (let c = 0; c < classes; c++) if (scores[offset + c]! > 1e-6) return c;
  return -1;
}

/** The first class whose probability is outside [0, 1], or −1. */
export function badProbability(scores: Scores, offset: number, classes: number): number {
  for (let c = 0; c < classes; c++) {
    const p = scores[offset + c]!;
    if (!(p >= 0 && p <= 1)) return c;
  }
  return -1;
}
