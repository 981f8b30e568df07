import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExactSum } from "../../src/metrics/exactSum.js";

const sum = (xs: readonly number[]) => {
  const s = new ExactSum();
  for (const x of xs) s.add(x);
  return s;
};

describe("ExactSum", () => {
  it("is 0 for no terms", () => {
    expect(sum([]).value()).toBe(0);
  });

  it("gives Python's math.fsum results where naive summation fails", () => {
    expect(sum([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]).value()).toBe(1); // naive: 0.9999999999999999
    expect(sum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]).value()).toBe(1e-100);
    expect(sum([2 ** 53, -0.5, -(2 ** -54)]).value()).toBe(2 ** 53 - 1);
    expect(sum([1, 1e-16, 1e-16]).value()).toBe(1.0000000000000002);
  });

  it("rounds half-way cases to even, as fsum does", () => {
    expect(sum([1, 2 ** -53]).value()).toBe(1);
    expect(sum([1, 2 ** -53, 2 ** -80]).value()).toBe(1 + 2 ** -52);
  });

  it("follows IEEE rules for infinities and NaN", () => {
    expect(sum([1, Number.POSITIVE_INFINITY]).value()).toBe(Number.POSITIVE_INFINITY);
    expect(sum([Number.NEGATIVE_INFINITY, 1]).value()).toBe(Number.NEGATIVE_INFINITY);
    expect(sum([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]).value()).toBeNaN();
    expect(sum([1, Number.NaN]).value()).toBeNaN();
  });

  it("saturates to infinity past the double range", () => {
    expect(sum([1.7e308, 1.7e308]).value()).toBe(Number.POSITIVE_INFINITY);
  });

  it("does not depend on the order of the terms", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 })),
        (xs) => {
          const reversed = [...xs].reverse();
          const sorted = [...xs].sort((a, b) => a - b);
          expect(sum(reversed).value()).toBe(sum(xs).value());
          expect(sum(sorted).value()).toBe(sum(xs).value());
        },
      ),
    );
  });

  it("merges into what the concatenated terms give, and survives its JSON state", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: -1e20, max: 1e20 })),
        fc.array(fc.double({ noNaN: true, min: -1e-5, max: 1e-5 })),
        (a, b) => {
          const merged = sum(a);
          merged.merge(sum(b));
          expect(merged.value()).toBe(sum([...a, ...b]).value());
          expect(ExactSum.fromJSON(merged.toJSON()).value()).toBe(merged.value());
        },
      ),
    );
  });
});
