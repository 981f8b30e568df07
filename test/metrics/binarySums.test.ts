import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocRowResults } from "../../src/core/rowResults.js";
import type { LossOptions } from "../../src/core/types.js";
import { Stats, summarize } from "../../src/metrics/stats.js";
import { DEFAULT_OPTIONS } from "../helpers/options.js";

const binary: LossOptions = { ...DEFAULT_OPTIONS, task: "binary" };

/** Probabilities on and beside every calibration edge, and the ends. */
const probability = fc.oneof(
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.integer({ min: 0, max: 15 }).map((k) => k / 15),
  fc.integer({ min: 1, max: 15 }).map((k) => k / 15 - Number.EPSILON),
  fc.constantFrom(0, 1, 1 - Number.EPSILON / 2, Number.MIN_VALUE),
);
const row = fc.record({
  status: fc.constantFrom(0, 0, 0, 1, 2),
  loss: fc.oneof(
    fc.double({ min: 0, max: 50, noNaN: true }),
    fc.constantFrom(0, 100, Number.POSITIVE_INFINITY, Number.NaN, 1e-300),
  ),
  nll: fc.double({ min: 0, max: 50, noNaN: true }),
  p: probability,
  value: fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true })),
  pred: fc.constantFrom(0, 1),
});

function results(
  rows: { status: number; loss: number; nll: number; p: number; value: number; pred: number }[],
) {
  const res = allocRowResults(rows.length);
  res.rows = rows.length;
  rows.forEach((x, r) => {
    res.status[r] = x.status;
    res.loss[r] = x.loss;
    res.nll[r] = x.nll;
    res.brier[r] = (x.p - x.value) ** 2;
    res.confidence[r] = x.p;
    res.pTarget[r] = x.p;
    res.value[r] = x.value;
    res.target[r] = x.value > 0.5 ? 1 : 0;
    res.pred[r] = x.pred;
    res.rank[r] = x.pred === res.target[r] ? 0 : 1;
  });
  return res;
}

describe("binary sums in WebAssembly equal the TypeScript ones bit for bit", () => {
  it("for any rows: counts, bins, exact sums and every summarised number", () => {
    fc.assert(
      fc.property(fc.array(fc.array(row, { maxLength: 30 }), { minLength: 1, maxLength: 4 }), (blocks) => {
        const wasm = new Stats(1, binary, { perClass: true, worst: 3 });
        const ts = new Stats(1, binary, { perClass: true, worst: 3, wasm: false });
        let start = 0;
        for (const rows of blocks) {
          const res = results(rows);
          res.start = start;
          start += rows.length;
          wasm.add(res);
          ts.add(res);
        }
        expect(wasm.used).toBe(ts.used);
        expect([wasm.ignored, wasm.skipped, wasm.correct]).toEqual([ts.ignored, ts.skipped, ts.correct]);
        expect(Array.from(wasm.eceCount)).toEqual(Array.from(ts.eceCount));
        expect(Array.from(wasm.eceCorrect)).toEqual(Array.from(ts.eceCorrect));
        expect(wasm.labels).toEqual(ts.labels);
        for (const name of ["loss", "nll", "brier"] as const)
          expect(wasm.sums[name].value()).toBe(ts.sums[name].value() + 0);
        wasm.eceConfidence.forEach((s, b) => {
          expect(s.value()).toBe(ts.eceConfidence[b]!.value() + 0);
          expect(wasm.eceTarget[b]!.value()).toBe(ts.eceTarget[b]!.value() + 0);
        });
        if (ts.used > 0) expect(summarize(wasm, null)).toEqual(summarize(ts, null));
      }),
      { numRuns: 500 },
    );
  });
});
