import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateBlock } from "../../src/core/evaluateBlock.js";
import { allocRowResults } from "../../src/core/rowResults.js";
import type { LossOptions, RowBlock, TargetBlock } from "../../src/core/types.js";
import { XentError } from "../../src/errors.js";
import { DEFAULT_OPTIONS } from "../helpers/options.js";

const defaults: LossOptions = DEFAULT_OPTIONS;

function run(scores: number[][], targets: number[] | number[][], options: Partial<LossOptions> = {}) {
  const C = scores[0]!.length;
  const t: TargetBlock = Array.isArray(targets[0])
    ? { kind: "probs", values: Float64Array.from((targets as number[][]).flat()) }
    : { kind: "index", values: Float64Array.from(targets as number[]) };
  const block: RowBlock = {
    start: 0,
    rows: scores.length,
    classes: C,
    scores: Float64Array.from(scores.flat()),
    targets: t,
  };
  const out = allocRowResults(scores.length);
  out.rows = scores.length;
  evaluateBlock(block, { ...defaults, ...options }, out);
  return out;
}

const row = fc.integer({ min: 1, max: 12 }).chain((C) =>
  fc.record({
    logits: fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: C, maxLength: C }),
    target: fc.integer({ min: 0, max: C - 1 }),
  }),
);

describe("evaluateBlock", () => {
  it("gives 2.0114 for the seed example: logits log([0.0681, 0.1033, 0.1193, 0.5755, 0.1338]), target 4", () => {
    const out = run([[0.0681, 0.1033, 0.1193, 0.5755, 0.1338].map(Math.log)], [4]);
    expect(out.loss[0]).toBeCloseTo(2.0114, 4);
    expect(out.pred[0]).toBe(3);
    expect(out.rank[0]).toBe(1);
  });

  it("gives log C for uniform logits, with or without smoothing", () => {
    for (const C of [1, 2, 10, 1000]) {
      for (const smoothing of [0, 0.1, 1]) {
        const out = run([new Array(C).fill(3.5)], [C - 1], { smoothing });
        expect(out.loss[0]).toBeCloseTo(Math.log(C), 12);
      }
    }
  });

  it("does not change when a constant is added to every logit of a row", () => {
    fc.assert(
      fc.property(row, fc.double({ min: -1e3, max: 1e3, noNaN: true }), ({ logits, target }, shift) => {
        const a = run([logits], [target], { smoothing: 0.1 });
        const b = run([logits.map((x) => x + shift)], [target], { smoothing: 0.1 });
        expect(b.loss[0]).toBeCloseTo(a.loss[0]!, 7);
      }),
    );
  });

  it("puts 1 − e on the target and e/(C − 1) on the others with the 'others' style", () => {
    const logits = [1, 2, 3];
    const lp = logits.map((x) => x - Math.log(logits.reduce((s, v) => s + Math.exp(v), 0)));
    const out = run([logits], [0], { smoothing: 0.3, smoothingStyle: "others" });
    expect(out.loss[0]).toBeCloseTo(-(0.7 * lp[0]! + 0.15 * lp[1]! + 0.15 * lp[2]!), 14);
  });

  it("breaks argmax ties toward the lowest index, for prediction and rank alike", () => {
    const out = run([[1, 5, 5, 0]], [2]);
    expect(out.pred[0]).toBe(1);
    expect(out.rank[0]).toBe(1);
    expect(run([[1, 5, 5, 0]], [1]).rank[0]).toBe(0);
  });

  it("gives an infinite loss when the target's logit is −inf, and ignores −inf elsewhere", () => {
    expect(run([[Number.NEGATIVE_INFINITY, 0, 0]], [0]).loss[0]).toBe(Number.POSITIVE_INFINITY);
    expect(run([[Number.NEGATIVE_INFINITY, 0, 0]], [1]).loss[0]).toBeCloseTo(Math.log(2), 14);
  });

  it("counts 0·log 0 as 0 for probability targets", () => {
    const out = run([[Number.NEGATIVE_INFINITY, 0, 0]], [[0, 0.5, 0.5]]);
    expect(out.loss[0]).toBeCloseTo(Math.log(2), 14);
  });

  it("weights the loss by the target's class weight", () => {
    const a = run([[0, 1, 2]], [2]);
    const b = run([[0, 1, 2]], [2], { classWeights: Float64Array.from([1, 1, 3]) });
    expect(b.loss[0]).toBeCloseTo(3 * a.loss[0]!, 14);
    expect(b.weight[0]).toBe(3);
  });

  it("marks ignored rows with loss 0 and weight 0", () => {
    const out = run(
      [
        [0, 1],
        [1, 0],
      ],
      [-100, 1],
    );
    expect([...out.status.subarray(0, 2)]).toEqual([1, 0]);
    expect(out.loss[0]).toBe(0);
    expect(out.weight[0]).toBe(0);
  });

  it("rejects a NaN score unless told to skip the row", () => {
    expect(() => run([[0, Number.NaN]], [0])).toThrow(XentError);
    const out = run(
      [
        [0, Number.NaN],
        [0, 1],
      ],
      [0, 1],
      { onNan: "skip" },
    );
    expect(out.status[0]).toBe(2);
    expect(out.status[1]).toBe(0);
  });

  it("rejects probabilities outside [0, 1] and targets out of range", () => {
    expect(() => run([[0.5, 1.5]], [0], { inputType: "probs" })).toThrow(/outside \[0, 1\]/);
    expect(() => run([[0, 1]], [2])).toThrow(/not a class index/);
    expect(() => run([[0, 1]], [[-0.1, 1.1]])).toThrow(/not a finite number ≥ 0/);
  });

  it("stays finite for huge and tiny logits", () => {
    const out = run(
      [
        [1e300, -1e300, 0],
        [-1e-300, 1e-300, 0],
      ],
      [0, 1],
    );
    expect(out.loss[0]).toBe(0);
    expect(out.loss[1]).toBeCloseTo(Math.log(3), 14);
  });
});
