import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocRowResults, type RowResults } from "../../src/core/rowResults.js";
import { IGNORED, type LossOptions, SKIPPED, USED } from "../../src/core/types.js";
import { mergeState, Stats, statsToState, summarize } from "../../src/metrics/stats.js";
import { DEFAULT_OPTIONS } from "../helpers/options.js";

const C = 4;
const options: LossOptions = { ...DEFAULT_OPTIONS, topK: [2] };

interface Row {
  status: number;
  loss: number;
  weight: number;
  nll: number;
  entropy: number;
  brier: number;
  confidence: number;
  pred: number;
  target: number;
  rank: number;
}

const row = fc.record({
  status: fc.constantFrom(USED, USED, USED, IGNORED, SKIPPED),
  loss: fc.double({ min: 0, max: 50, noNaN: true }),
  weight: fc.double({ min: 0, max: 3, noNaN: true }),
  nll: fc.double({ min: 0, max: 50, noNaN: true }),
  entropy: fc.double({ min: 0, max: 2, noNaN: true }),
  brier: fc.double({ min: 0, max: 2, noNaN: true }),
  confidence: fc.double({ min: 0.25, max: 1, noNaN: true }),
  pred: fc.integer({ min: 0, max: C - 1 }),
  target: fc.integer({ min: 0, max: C - 1 }),
  rank: fc.integer({ min: 0, max: C - 1 }),
});

function block(rows: Row[], start: number): RowResults {
  const res = allocRowResults(rows.length);
  res.rows = rows.length;
  res.start = start;
  rows.forEach((r, i) => {
    for (const key of Object.keys(r) as (keyof Row)[])
      (res[key] as Float64Array | Int32Array | Uint8Array)[i] = r[key];
  });
  return res;
}

const summaryOf = (s: Stats) =>
  JSON.stringify(summarize(s, null), (_, v) => (v instanceof Object && "k" in v ? v.rows : v));

describe("Stats", () => {
  it("gives the same bits added in one block, in pieces, merged, or sent as state", () => {
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 9 }),
        (rows, piece) => {
          fc.pre(rows.some((r) => r.status === USED && r.weight > 0));
          const extras = { perClass: true, worst: 5 };
          const whole = new Stats(C, options, extras);
          whole.add(block(rows, 0));
          const merged = new Stats(C, options, extras);
          const viaState = new Stats(C, options, extras);
          for (let from = 0; from < rows.length; from += piece) {
            const part = new Stats(C, options, extras);
            part.add(block(rows.slice(from, from + piece), from));
            merged.merge(part);
            mergeState(viaState, statsToState(part));
          }
          expect(summaryOf(merged)).toBe(summaryOf(whole));
          expect(summaryOf(viaState)).toBe(summaryOf(whole));
        },
      ),
    );
  });

  it("says what a mean over nothing is, instead of NaN", () => {
    const s = new Stats(C, options, { perClass: false, worst: 0 });
    s.add(
      block(
        [
          {
            status: IGNORED,
            loss: 0,
            weight: 0,
            nll: 0,
            entropy: 0,
            brier: 0,
            confidence: 0,
            pred: 0,
            target: 0,
            rank: 0,
          },
        ],
        0,
      ),
    );
    expect(() => summarize(s, null)).toThrow(/ignored/);
  });
});
