import { smoothedIndexLoss } from "./smoothedLoss.js";
import type { LossOptions } from "./types.js";

/**
 * −Σ_c w_c·q_c·lp_c for an index target y, where q is the smoothed one-hot target.
 *
 * Terms with q_c = 0 are left out (0·log 0 = 0): with no smoothing a −inf logit on another class
 * does not turn the loss into NaN, exactly as in PyTorch's nll_loss path.
 */
export function indexLoss(lp: Float64Array, classes: number, y: number, options: LossOptions): number {
  const w = options.classWeights;
  const e = options.smoothing;
  const targetTerm = (w === null ? 1 : w[y]!) * lp[y]!;
  if (e === 0) return smoothedIndexLoss(0, options.smoothingStyle, classes, targetTerm, 0);
  const uniform = options.smoothingStyle === "uniform";
  let spread = 0;
  for (let c = 0; c < classes; c++) if (uniform || c !== y) spread -= (w === null ? 1 : w[c]!) * lp[c]!;
  return smoothedIndexLoss(e, options.smoothingStyle, classes, targetTerm, spread);
}

/**
 * −Σ_c w_c·q_c·lp_c for a probability target t (row `offset` of `t`), with
 * q = (1 − e)·t + e/C (uniform) or q = (1 − e)·t + e·(1 − t)/(C − 1) (others).
 */
export function probsLoss(
  lp: Float64Array,
  classes: number,
  t: Float64Array,
  offset: number,
  options: LossOptions,
): number {
  const w = options.classWeights;
  const e = options.smoothing;
  const uniform = options.smoothingStyle === "uniform";
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const tc = t[offset + c]!;
    const q =
      e === 0 ? tc : uniform ? tc * (1 - e) + e / classes : tc * (1 - e) + (e * (1 - tc)) / (classes - 1);
    if (q === 0) continue;
    sum -= lp[c]! * q * (w === null ? 1 : w[c]!);
  }
  return sum;
}
