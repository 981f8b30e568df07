import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type WorstRow, WorstRows } from "../../src/metrics/worst.js";

const row = (index: number, loss: number): WorstRow => ({
  index,
  loss,
  target: 0,
  nll: loss,
  pred: 0,
  pTarget: 0,
});
const rank = (l: number) => (Number.isNaN(l) ? Number.NEGATIVE_INFINITY : l);

describe("WorstRows", () => {
  it("keeps the K largest losses, ties to the lower index, NaN last, whatever the order rows arrive in", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ noNaN: true }), fc.constant(Number.NaN), fc.constantFrom(0, 1, 2)), {
          maxLength: 200,
        }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 5 }),
        (losses, k, parts) => {
          const rows = losses.map((l, i) => row(i, l));
          const expected = [...rows]
            .sort((a, b) => rank(b.loss) - rank(a.loss) || a.index - b.index)
            .slice(0, k)
            .map((r) => r.index);
          // Split into `parts` accumulators, fed in reverse, then merged.
          const pieces = Array.from({ length: parts }, () => new WorstRows(k));
          [...rows].reverse().forEach((r, i) => {
            pieces[i % parts]!.add(r);
          });
          const all = new WorstRows(k);
          for (const p of pieces) all.merge(p);
          expect(all.rows.map((r) => r.index)).toEqual(expected);
        },
      ),
    );
  });

  it("takes 200,000 rows with K = 50,000 in well under a second", () => {
    const w = new WorstRows(50_000);
    const started = performance.now();
    for (let i = 0; i < 200_000; i++) w.add(row(i, Math.sin(i) * 10));
    expect(w.rows).toHaveLength(50_000);
    expect(performance.now() - started).toBeLessThan(1500);
  });
});
