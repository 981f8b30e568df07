import { XentError } from "../errors.js";
import { isClassIndex, notAClassIndex } from "./indexTarget.js";
import { badLogProbability, badProbability, logProbs } from "./logProbs.js";
import { SUM_TOLERANCE } from "./probabilityLook.js";
import { indexLoss, probsLoss } from "./rowLoss.js";
import type { RowResults } from "./rowResults.js";
import {
  IGNORED,
  type InputType,
  type LossOptions,
  type RowBlock,
  type Scores,
  SKIPPED,
  USED,
} from "./types.js";

/**
 * Computes every per-row number of one block into `out` (see RowResults). Pure: no I/O, and the
 * same row always gives the same bits whatever block it arrives in.
 *
 * Throws XentError for bad values (NaN score with `--on-nan error`, a target out of range, a
 * probability outside [0, 1]); the caller adds the file name.
 */
export function evaluateBlock(
  block: RowBlock,
  options: LossOptions,
  out: RowResults,
  scratch?: Float64Array,
) {
  const C = block.classes;
  const lp = scratch && scratch.length >= C ? scratch : new Float64Array(C);
  const { scores, targets } = block;
  const weights = options.classWeights;
  for (let r = 0; r < block.rows; r++) {
    const offset = r * C;
    let y: number;
    if (targets.kind === "index") {
      y = targets.values[r]!;
      if (y === options.ignoreIndex) {
        markUnused(out, r, IGNORED, y);
        continue;
      }
      if (!isClassIndex(y, C)) throw notAClassIndex(y, C, where(block, r));
    } else {
      y = checkedArgmax(targets.values, offset, C, block.start + r);
    }
    if (options.inputType === "log-probs") {
      const bad = badLogProbability(scores, offset, C);
      if (bad >= 0) {
        throw new XentError(
          "value",
          `log-probability ${scores[offset + bad]} of class ${bad} is above 0 (are these logits? drop --input-type log-probs)`,
          where(block, r),
        );
      }
    }
    if (options.inputType === "probs") {
      const bad = badProbability(scores, offset, C);
      if (bad >= 0 && scores[offset + bad] === scores[offset + bad]) {
        throw new XentError(
          "value",
          `probability ${scores[offset + bad]} of class ${bad} is outside [0, 1]`,
          where(block, r),
        );
      }
    }
    if (!logProbs(scores, offset, C, options.inputType, options.temperature, lp)) {
      if (options.onNan === "skip") {
        markUnused(out, r, SKIPPED, y);
        continue;
      }
      throw nanScore(block, r);
    }
    if (options.inputType !== "logits") checkSum(scores, offset, C, options.inputType, block, r);
    out.status[r] = USED;
    out.target[r] = y;
    if (targets.kind === "index") {
      out.loss[r] = indexLoss(lp, C, y, options);
      out.weight[r] = weights === null ? 1 : weights[y]!;
      out.nll[r] = -lp[y]!;
    } else {
      out.loss[r] = probsLoss(lp, C, targets.values, offset, options);
      out.weight[r] = 1;
      let nll = 0;
      for (let c = 0; c < C; c++) {
        const t = targets.values[offset + c]!;
        if (t !== 0) nll -= t * lp[c]!;
      }
      out.nll[r] = nll;
    }
    rowMetrics(lp, scores, C, y, targets.kind === "probs" ? targets.values : null, offset, out, r);
  }
}

/**
 * Probabilities (or their logs) must make a distribution: sigmoid outputs of a multi-label model
 * sum to 1.4–4.3 and would give a plausible, wrong cross-entropy.
 */
function checkSum(scores: Scores, offset: number, C: number, type: InputType, block: RowBlock, r: number) {
  let sum = 0;
  for (let c = 0; c < C; c++) sum += type === "probs" ? scores[offset + c]! : Math.exp(scores[offset + c]!);
  if (Math.abs(sum - 1) <= SUM_TOLERANCE) return;
  const what = type === "probs" ? "probabilities" : "exp(log-probabilities)";
  throw new XentError(
    "value",
    `the row's ${what} sum to ${sum}, not 1 (±${SUM_TOLERANCE}); sigmoid outputs? use --task multilabel`,
    where(block, r),
  );
}

/** The place of row r, for an error: built only when one is thrown. */
export function where(block: RowBlock, r: number) {
  return { row: block.start + r, line: block.lines?.[r] };
}

/** The error of a NaN score under `--on-nan error`, for every kernel. */
export const nanScore = (block: RowBlock, r: number) =>
  new XentError("value", "NaN score (use --on-nan skip to leave such rows out)", where(block, r));

/**
 * Row r is ignored (IGNORED) or skipped (SKIPPED): loss 0 or NaN, no metrics. `y` is the target
 * class kept for output, `value` the target as given (binary rows print it; y by default).
 */
export function markUnused(out: RowResults, r: number, status: number, y: number, value = y) {
  out.status[r] = status;
  out.value[r] = value;
  out.target[r] = Number.isInteger(y) && Math.abs(y) < 2 ** 31 ? y : -1;
  out.loss[r] = status === IGNORED ? 0 : Number.NaN;
  out.weight[r] = 0;
  out.nll[r] = Number.NaN;
  out.entropy[r] = Number.NaN;
  out.brier[r] = Number.NaN;
  out.confidence[r] = Number.NaN;
  out.pTarget[r] = Number.NaN;
  out.pred[r] = -1;
  out.rank[r] = -1;
}

/** argmax of a probability target, after checking every value is a finite number ≥ 0. */
function checkedArgmax(t: Float64Array, offset: number, C: number, row: number): number {
  let best = 0;
  for (let c = 0; c < C; c++) {
    const v = t[offset + c]!;
    if (!(v >= 0 && v !== Number.POSITIVE_INFINITY)) {
      throw new XentError("value", `target probability ${v} of class ${c} is not a finite number ≥ 0`, {
        row,
      });
    }
    if (v > t[offset + best]!) best = c;
  }
  return best;
}

/**
 * Unweighted, unsmoothed metrics of one used row from p = exp(lp). The prediction and the
 * target's rank compare the scores themselves, which order the classes as p does (log, softmax
 * and a positive temperature are increasing) without the ties rounding can make among lp values.
 */
function rowMetrics(
  lp: Float64Array,
  scores: Scores,
  C: number,
  y: number,
  probs: Float64Array | null,
  offset: number,
  out: RowResults,
  r: number,
) {
  let pred = 0;
  let entropy = 0;
  let brier = 0;
  let above = 0;
  const lpy = lp[y]!;
  const xy = scores[offset + y]!;
  let xmax = scores[offset]!;
  for (let c = 0; c < C; c++) {
    const l = lp[c]!;
    const p = Math.exp(l);
    if (p !== 0) entropy -= p * l;
    const t = probs === null ? (c === y ? 1 : 0) : probs[offset + c]!;
    brier += (p - t) * (p - t);
    const x = scores[offset + c]!;
    if (x > xmax) {
      xmax = x;
      pred = c;
    }
    if (x > xy || (x === xy && c < y)) above++;
  }
  out.entropy[r] = entropy;
  out.brier[r] = brier;
  out.pred[r] = pred;
  out.confidence[r] = Math.exp(lp[pred]!);
  out.pTarget[r] = Math.exp(lpy);
  // A NaN log-probability ranks nowhere: such a row is never counted correct.
  out.rank[r] = lpy === lpy ? above : C;
}
