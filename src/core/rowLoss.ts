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
  const wy = w === null ? 1 : w[y]!;
  if (e === 0) return 0 - wy * lp[y]!; // 0 − x, not −x: a certain prediction gives +0, not −0
  // PyTorch: (1 − e)·nll + (e / C)·smooth, smooth = −Σ_c w_c·lp_c over all classes.
  if (options.smoothingStyle === "uniform") {
    let smooth = 0;
    for (let c = 0; c < classes; c++) smooth -= (w === null ? 1 : w[c]!) * lp[c]!;
    const nll = e === 1 ? 0 : -(wy * lp[y]!);
    return (1 - e) * nll + smooth * (e / classes);
  }
  // "others": 1 − e stays on the target, e / (C − 1) goes to each other class.
  let others = 0;
  for (let c = 0; c < classes; c++) if (c !== y) others -= (w === null ? 1 : w[c]!) * lp[c]!;
  const nll = e === 1 ? 0 : -(wy * lp[y]!);
  return (1 - e) * nll + others * (e / (classes - 1));
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
