import type { SmoothingStyle } from "./types.js";

/**
 * PyTorch's label-smoothed loss of an index target, from its two parts, for both kernels (the
 * TypeScript one sums the parts over lp, the WebAssembly one from its per-row sums):
 * `targetTerm` = w_y·lp_y and `spread` = −Σ w_c·lp_c over the classes smoothing spreads e over —
 * every class (uniform: e/C each) or every other class ("others": e/(C − 1) each). 1 − e stays on
 * the target. e = 1 leaves the target term out entirely (so that a −inf target logit gives the
 * smoothed loss, not NaN).
 */
export function smoothedIndexLoss(
  e: number,
  style: SmoothingStyle,
  C: number,
  targetTerm: number,
  spread: number,
): number {
  if (e === 0) return 0 - targetTerm; // 0 − x, not −x: a certain prediction gives +0, not −0
  const nll = e === 1 ? 0 : -targetTerm;
  return (1 - e) * nll + spread * (e / (style === "uniform" ? C : C - 1));
}
