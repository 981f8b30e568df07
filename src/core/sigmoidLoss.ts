import type { InputType } from "./types.js";

/**
 * One element of PyTorch's binary cross-entropy, in float64 and in PyTorch's order of operations
 * (torch 1.13, aten/native/Loss.cpp), so that results agree to the last few bits.
 */

/**
 * `F.binary_cross_entropy_with_logits` of logit x and target y (pos_weight pw, 1 for none):
 * with m = max(−x, 0), (1 − y)·x + lw·(log(e^−m + e^(−x−m)) + m), lw = (pw − 1)·y + 1. Never
 * overflows: x = ±1000 gives 0 or 1000, not NaN.
 */
export function bceWithLogits(x: number, y: number, pw: number): number {
  return bceWithLogitsOf(x, Math.exp(-Math.abs(x)), y, pw);
}

/**
 * The same from e = exp(−|x|): one of PyTorch's two exps is always exp(0) = 1 (e^−m for x ≥ 0,
 * e^(−x−m) for x < 0), so log(e^−m + e^(−x−m)) is log(1 + e) to the bit, and e serves the
 * sigmoid too.
 */
export function bceWithLogitsOf(x: number, e: number, y: number, pw: number): number {
  const m = Math.max(-x, 0);
  const log = Math.log(1 + e);
  if (pw === 1) return (1 - y) * x + m + log;
  return (1 - y) * x + ((pw - 1) * y + 1) * (log + m);
}

/** torch.sigmoid's 1 / (1 + exp(−x)), reusing e = exp(−|x|) when x ≥ 0. */
export const sigmoidOf = (x: number, e: number) => 1 / (1 + (x >= 0 ? e : Math.exp(-x)));

/**
 * PyTorch clamps each log term of `F.binary_cross_entropy` at −100, so that p = 0 or 1 gives a
 * finite loss (100 per wrong certainty), not inf.
 */
export const LOG_CLAMP = -100;

/**
 * `F.binary_cross_entropy` of probability p from its two logs: (y − 1)·max(log(1 − p), −100) −
 * y·max(log p, −100), with pos_weight applied to the positive term as with_logits does.
 */
export function bceFromLogs(logP: number, log1mP: number, y: number, pw: number): number {
  const pos = Math.max(logP, LOG_CLAMP);
  const neg = Math.max(log1mP, LOG_CLAMP);
  return (y - 1) * neg - (pw === 1 ? y : pw * y) * pos;
}

/** The probability of the positive label, and the element's loss and unsmoothed, unweighted nll. */
export interface SigmoidElement {
  p: number;
  loss: number;
  nll: number;
}

/**
 * One element: score s (a logit, a probability, or a log-probability) against target y, smoothed
 * target ys (Keras: y·(1 − e) + e/2), pos_weight pw and weight w. `out` is reused.
 */
export function sigmoidElement(
  s: number,
  inputType: InputType,
  y: number,
  ys: number,
  pw: number,
  w: number,
  out: SigmoidElement,
): SigmoidElement {
  if (inputType === "logits") {
    const e = Math.exp(-Math.abs(s));
    out.p = sigmoidOf(s, e);
    out.loss = w * bceWithLogitsOf(s, e, ys, pw);
    // The common case (no smoothing, no weights) computes the loss once.
    out.nll = ys === y && pw === 1 && w === 1 ? out.loss : bceWithLogitsOf(s, e, y, 1);
    return out;
  }
  // Probabilities: log(1 − p) as PyTorch computes it; log-probabilities: log(1 − e^lp) without
  // the cancellation of 1 − p (a log-probability of −1e−20 keeps its 46, not 100).
  // A log-probability may exceed 0 by rounding (up to 1e-6 is let through): it is 0.
  const lp = Math.min(s, 0);
  const logP = inputType === "probs" ? Math.log(s) : lp;
  const log1mP = inputType === "probs" ? Math.log(1 - s) : Math.log(-Math.expm1(lp));
  out.p = inputType === "probs" ? s : Math.exp(lp);
  out.loss = w * bceFromLogs(logP, log1mP, ys, pw);
  out.nll = bceFromLogs(logP, log1mP, y, 1);
  return out;
}
