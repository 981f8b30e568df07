import { describe, expect, it } from "vitest";
import { allocRowResults } from "../../src/core/rowResults.js";
import { evaluateBinaryBlock, evaluateMultilabelBlock } from "../../src/core/sigmoidBlock.js";
import { bceFromLogs, bceWithLogits, sigmoidElement } from "../../src/core/sigmoidLoss.js";
import type { LossOptions, RowBlock } from "../../src/core/types.js";
import { DEFAULT_OPTIONS } from "../helpers/options.js";

const binary: LossOptions = { ...DEFAULT_OPTIONS, task: "binary" };

describe("bceWithLogits (F.binary_cross_entropy_with_logits)", () => {
  it("is log 2 at x = 0 for either target", () => {
    expect(bceWithLogits(0, 0, 1)).toBe(Math.LN2);
    expect(bceWithLogits(0, 1, 1)).toBe(Math.LN2);
  });

  it("never overflows: ±1000 give 0 or 1000, not NaN or inf", () => {
    expect(bceWithLogits(1000, 1, 1)).toBe(0);
    expect(bceWithLogits(-1000, 0, 1)).toBe(0);
    expect(bceWithLogits(1000, 0, 1)).toBe(1000);
    expect(bceWithLogits(-1000, 1, 1)).toBe(1000);
  });

  it("rounds as PyTorch does: log(1 + e^-40) is 0 in float64, so x = 40, y = 1 costs 0", () => {
    expect(bceWithLogits(40, 1, 1)).toBe(0);
    expect(bceWithLogits(30, 1, 1)).toBe(Math.log(1 + Math.exp(-30)));
  });

  it("weighs the positive term by pos_weight, as torch 1.13 does", () => {
    // torch: F.binary_cross_entropy_with_logits([3.], [0.3], pos_weight=[2.5]) = 2.1704516597819254
    expect(bceWithLogits(3, 0.3, 2.5)).toBeCloseTo(2.1704516597819254, 14);
    expect(bceWithLogits(-2, 1, 3)).toBeCloseTo(3 * Math.log1p(Math.exp(2)), 13);
  });

  it("gives what PyTorch gives for non-finite logits: NaN, NaN, inf", () => {
    // torch 1.13: F.binary_cross_entropy_with_logits([inf, -inf, inf], [1, 0, 0]) = [nan, nan, inf]
    expect(bceWithLogits(Number.NaN, 1, 1)).toBeNaN();
    expect(bceWithLogits(Number.POSITIVE_INFINITY, 1, 1)).toBeNaN();
    expect(bceWithLogits(Number.NEGATIVE_INFINITY, 0, 1)).toBeNaN();
    expect(bceWithLogits(Number.POSITIVE_INFINITY, 0, 1)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("bceFromLogs (F.binary_cross_entropy and its −100 clamp)", () => {
  it("gives 100 for a certain wrong probability, 0 for a certain right one", () => {
    expect(bceFromLogs(Math.log(0), Math.log(1), 1, 1)).toBe(100);
    expect(bceFromLogs(Math.log(1), Math.log(0), 0, 1)).toBe(100);
    expect(bceFromLogs(Math.log(1), Math.log(0), 1, 1)).toBe(-0);
    expect(bceFromLogs(Math.log(0), Math.log(1), 0, 1)).toBe(0);
  });

  it("clamps each term before weighing it (a soft target of 0.3 at p = 1e-50 costs 30)", () => {
    expect(bceFromLogs(Math.log(1e-50), Math.log(1 - 1e-50), 0.3, 1)).toBe(30);
  });
});

describe("sigmoidElement", () => {
  const out = { p: 0, loss: 0, nll: 0 };
  it("reads log-probabilities without cancelling 1 − p (−1e−20 costs 46, not 100)", () => {
    sigmoidElement(-1e-20, "log-probs", 0, 0, 1, 1, out);
    expect(out.loss).toBeCloseTo(-Math.log(1e-20), 10);
  });

  it("takes a log-probability a rounding above 0 as 0", () => {
    sigmoidElement(1e-7, "log-probs", 1, 1, 1, 1, out);
    expect(out.loss).toBe(-0);
    expect(out.p).toBe(1);
  });

  it("keeps nll unsmoothed and unweighted", () => {
    sigmoidElement(2, "logits", 1, 0.95, 3, 2, out);
    expect(out.nll).toBe(bceWithLogits(2, 1, 1));
    expect(out.loss).toBe(2 * bceWithLogits(2, 0.95, 3));
  });
});

const block = (scores: number[], targets: number[], C = 1): RowBlock => ({
  start: 0,
  rows: scores.length / C,
  classes: C,
  scores: Float64Array.from(scores),
  targets:
    C === 1
      ? { kind: "index", values: Float64Array.from(targets) }
      : { kind: "probs", values: Float64Array.from(targets) },
});

describe("evaluateBinaryBlock", () => {
  it("predicts positive above the threshold only (p = 0.5 is negative at 0.5)", () => {
    const out = allocRowResults(3);
    evaluateBinaryBlock(block([0, 1, -1], [1, 1, 0]), binary, out);
    expect(Array.from(out.pred)).toEqual([0, 1, 0]);
    expect(Array.from(out.rank)).toEqual([1, 0, 0]);
  });

  it("counts a soft target as positive above 0.5 and keeps its value", () => {
    const out = allocRowResults(2);
    evaluateBinaryBlock(block([1, 1], [0.5, 0.7]), binary, out);
    expect(Array.from(out.target)).toEqual([0, 1]);
    expect(Array.from(out.value)).toEqual([0.5, 0.7]);
  });

  it("ignores the ignore index and skips NaN scores only when asked", () => {
    const out = allocRowResults(2);
    evaluateBinaryBlock(block([Number.NaN, 1], [1, -100]), { ...binary, onNan: "skip" }, out);
    expect(Array.from(out.status)).toEqual([2, 1]);
    expect(() => evaluateBinaryBlock(block([Number.NaN], [1]), binary, out)).toThrow(/NaN score/);
  });

  it("refuses a target outside [0, 1] and a probability outside [0, 1]", () => {
    const out = allocRowResults(1);
    expect(() => evaluateBinaryBlock(block([0], [2]), binary, out)).toThrow(/target 2 is outside \[0, 1\]/);
    expect(() => evaluateBinaryBlock(block([1.2], [1]), { ...binary, inputType: "probs" }, out)).toThrow(
      /probability 1\.2 is outside \[0, 1\]/,
    );
  });
});

describe("evaluateMultilabelBlock", () => {
  it("sums the weighted element losses of a row (weight C) and counts its labels", () => {
    const out = allocRowResults(1, 3);
    const options: LossOptions = {
      ...DEFAULT_OPTIONS,
      task: "multilabel",
      classWeights: Float64Array.of(1, 2, 0),
    };
    evaluateMultilabelBlock(block([2, -1, 3], [1, 1, 0], 3), options, out);
    expect(out.loss[0]).toBe(bceWithLogits(2, 1, 1) + 2 * bceWithLogits(-1, 1, 1) + 0);
    expect(out.weight[0]).toBe(3);
    expect(out.target[0]).toBe(2);
    expect(out.pred[0]).toBe(2);
    expect(out.rank[0]).toBe(2);
    expect(Array.from(out.labels!.flags.subarray(0, 3))).toEqual([3, 1, 2]);
  });
});
