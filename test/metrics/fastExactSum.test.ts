import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExactSum } from "../../src/metrics/exactSum.js";
import { FastExactSum } from "../../src/metrics/fastExactSum.js";

const exact = (xs: readonly number[]) => {
  const s = new ExactSum();
  for (const x of xs) s.add(x);
  return s.value();
};
const fast = (xs: readonly number[]) => {
  const s = new FastExactSum();
  for (const x of xs) s.add(x);
  return s.value();
};
/** Doubles of every kind: subnormal, huge, negative, zeros of both signs, exact cancellations. */
const anyDouble = fc.oneof(
  // ExactSum saturates as soon as a partial sum passes 1.8e308 (so its result there depends on
  // the order); terms up to 1e300 keep every partial sum of 60 in range.
  fc.double({ min: -1e300, max: 1e300, noNaN: true }),
  fc.double({ min: -1, max: 1, noNaN: true }),
  fc.constantFrom(0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, 2 ** -1022, 1e300, -1e300),
  fc.integer({ min: -1000, max: 1000 }).map((k) => k * 2 ** -1060),
);

describe("FastExactSum gives ExactSum's value to the bit", () => {
  // The sign of a zero sum may differ (ExactSum keeps −0 for −0 terms alone): no output tells
  // −0 from 0 (JSON, the table and CSV all print 0).
  it("for any doubles, in any order (zero's sign aside)", () => {
    fc.assert(
      fc.property(fc.array(anyDouble, { maxLength: 60 }), (xs) => {
        expect(fast(xs)).toBe(exact(xs) + 0);
        expect(fast([...xs].reverse())).toBe(exact(xs) + 0);
      }),
      { numRuns: 2000 },
    );
  });

  it("for NaN and infinities (IEEE rules, counted apart)", () => {
    expect(fast([1, Number.POSITIVE_INFINITY])).toBe(Number.POSITIVE_INFINITY);
    expect(fast([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBeNaN();
    expect(fast([1, Number.NaN])).toBeNaN();
  });

  it("is inf only when the sum itself passes the double range, whatever the order", () => {
    expect(fast([Number.MAX_VALUE, Number.MAX_VALUE])).toBe(Number.POSITIVE_INFINITY);
    expect(fast([-Number.MAX_VALUE, -Number.MAX_VALUE])).toBe(Number.NEGATIVE_INFINITY);
    expect(fast([Number.MAX_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE])).toBe(Number.MAX_VALUE);
    expect(fast([Number.MAX_VALUE, 1e308, -Number.MAX_VALUE])).toBe(1e308);
    expect(fast([Number.MAX_VALUE])).toBe(Number.MAX_VALUE);
    expect(fast([-Number.MAX_VALUE, 1])).toBe(-Number.MAX_VALUE);
  });

  it("cancels exactly: 1e16 + 1 − 1e16 is 1, a small negative sum stays small", () => {
    expect(fast([1e16, 1, -1e16])).toBe(1);
    expect(fast([1, -2])).toBe(-1);
    expect(fast([0.1, 0.2, -0.3])).toBe(exact([0.1, 0.2, -0.3]));
  });

  it("carries across 2^20 adds and more (3 million terms of mixed sign)", () => {
    const s = new FastExactSum();
    const e = new ExactSum();
    let seed = 1;
    for (let i = 0; i < 3_000_000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const x = (seed / 2 ** 32 - 0.3) * 2 ** ((seed % 40) - 20);
      s.add(x);
      e.add(x);
    }
    expect(s.value()).toBe(e.value());
  });

  it("merges, and its state reads back through ExactSum", () => {
    const a = new FastExactSum();
    const b = new FastExactSum();
    for (const x of [0.1, 1e-300, 3]) a.add(x);
    for (const x of [-7, 2 ** 60, 0.7]) b.add(x);
    a.merge(b);
    expect(a.value()).toBe(exact([0.1, 1e-300, 3, -7, 2 ** 60, 0.7]));
    a.add(5);
    expect(ExactSum.fromJSON(a.toJSON()).value()).toBe(exact([0.1, 1e-300, 3, -7, 2 ** 60, 0.7, 5]));
  });
});
