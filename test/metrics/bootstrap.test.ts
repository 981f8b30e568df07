import { describe, expect, it } from "vitest";
import { allocRowResults } from "../../src/core/rowResults.js";
import { interval, PairedBootstrap, poissonWeight, quantile, rowKey } from "../../src/metrics/bootstrap.js";
import { mcnemarExact } from "../../src/metrics/mcnemar.js";

/** mulberry32, seeded: the same synthetic draws everywhere. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const normal = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/** Results of n rows whose per-row losses are `loss`. */
function results(loss: number[], start = 0) {
  const res = allocRowResults(loss.length);
  res.rows = loss.length;
  res.start = start;
  loss.forEach((x, i) => {
    res.loss[i] = x;
    res.nll[i] = x;
    res.weight[i] = 1;
  });
  return res;
}

describe("Poisson weights from a counter-based hash", () => {
  it("are Poisson(1): mean 1, variance 1, P(0) = e^-1", () => {
    let sum = 0;
    let squares = 0;
    let zeros = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const w = poissonWeight(rowKey(7, i), i % 1000);
      sum += w;
      squares += w * w;
      if (w === 0) zeros++;
    }
    expect(sum / n).toBeCloseTo(1, 2);
    expect(squares / n - (sum / n) ** 2).toBeCloseTo(1, 1);
    expect(zeros / n).toBeCloseTo(Math.exp(-1), 2);
  });

  it("are fixed for a (seed, row, replicate): the same on every machine and in every release", () => {
    // Changing these changes every interval xent has printed: a new --seed meaning, not a fix.
    expect(Array.from({ length: 12 }, (_, r) => poissonWeight(rowKey(0, 0), r))).toEqual([
      1, 4, 0, 1, 2, 2, 1, 1, 1, 0, 1, 0,
    ]);
    expect([0, 1, 2, 3, 2 ** 40].map((row) => rowKey(0, row))).toEqual([
      3170179127, 2305018409, 916779132, 1765133244, 1233033813,
    ]);
  });
});

describe("PairedBootstrap", () => {
  it("gives the same bits whatever the runs the rows come in (and merged from shards)", () => {
    const r = rng(3);
    const b = Array.from({ length: 500 }, () => -Math.log(1 - r()));
    const c = b.map((x) => x + 0.1 * normal(r));
    const whole = new PairedBootstrap(200, 11);
    whole.add(results(b), 0, results(c), 0, 500, 0);
    const runs = new PairedBootstrap(200, 11);
    for (let at = 0; at < 500; at += 37) {
      const n = Math.min(37, 500 - at);
      runs.add(results(b), at, results(c), at, n, at);
    }
    const shardA = new PairedBootstrap(200, 11);
    const shardB = new PairedBootstrap(200, 11);
    shardA.add(results(b), 0, results(c), 0, 123, 0);
    shardB.add(results(b), 123, results(c), 123, 377, 123);
    shardB.merge(shardA);
    expect(runs.replicates()).toEqual(whole.replicates());
    expect(shardB.replicates()).toEqual(whole.replicates());
  });

  it("covers the true mean difference about 95% of the time (simulation, 300 data sets)", () => {
    const r = rng(2026);
    const trials = 300;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const n = 200;
      const b = Array.from({ length: n }, () => -Math.log(1 - r()));
      const c = b.map((x) => x + 0.05 + 0.4 * normal(r));
      const boot = new PairedBootstrap(400, t);
      boot.add(results(b), 0, results(c), 0, n, 0);
      const reps = boot.replicates();
      const deltas = Float64Array.from(reps.dLoss, (d, k) => d / reps.weight[k]!);
      const ci = interval(deltas, 0.95);
      if (ci.low <= 0.05 && 0.05 <= ci.high) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.9);
    expect(covered / trials).toBeLessThan(0.99);
  });

  it("interval: numpy's linear quantiles, and a sign p-value of at least 1/R", () => {
    expect(quantile(Float64Array.of(1, 2, 3, 4), 0.5)).toBe(2.5);
    expect(quantile(Float64Array.of(1, 2, 3, 4), 0.025)).toBeCloseTo(1.075, 12);
    expect(interval(Float64Array.of(1, 2, 3, 4), 0.5)).toEqual({ low: 1.75, high: 3.25, p_value: 0.25 });
    expect(interval(Float64Array.of(-1, 1, -2, 2), 0.95).p_value).toBe(1);
  });
});

describe("McNemar's exact test", () => {
  it("matches scipy.stats.binomtest (scipy 1.10) and a hand computation", () => {
    // b = 0, c = 5: 2 · (1/2)^5 = 0.0625.
    expect(mcnemarExact(0, 5)).toBe(0.0625);
    // b = 3, c = 10: 2 · (1 + 13 + 78 + 286) / 2^13 = 0.09228515625.
    expect(mcnemarExact(3, 10)).toBeCloseTo(0.09228515625, 14);
    expect(mcnemarExact(10, 3)).toBe(mcnemarExact(3, 10));
    expect(mcnemarExact(50, 70)).toBeCloseTo(0.08240747932752653, 12);
    expect(mcnemarExact(1000, 1100)).toBeCloseTo(0.030720707864242486, 12);
    expect(mcnemarExact(7, 7)).toBe(1);
    expect(mcnemarExact(0, 0)).toBe(1);
  });
});
