import type { RowResults } from "../core/rowResults.js";
import { USED } from "../core/types.js";

/**
 * A paired Poisson bootstrap of the difference between two evaluations of the same rows
 * (candidate − baseline), deterministic and mergeable: row i's weight in replicate r is a
 * Poisson(1) draw from a counter-based hash of (seed, i, r), so it does not depend on how rows
 * are chunked, which thread sees them, or how a file is sharded; the weighted sums are integers
 * (per-row values in units of 2^-16), added exactly, so merging in any order gives the same bits.
 * (TFMA's Poisson bootstrap draws weights from a stream per worker: not reproducible.)
 */

/** Per-row values are counted in units of 2^-16 (1.5e-5): far below any interval's width. */
const SCALE = 2 ** 16;
/** |value| beyond this is clipped in the replicates (the point estimates stay exact). */
const CLIP = 2 ** 17;
/** Rows between flushes of the float accumulators into BigInts: |w·q| ≤ 12 · 2^33, 2^15 rows of them < 2^53. */
const FLUSH_ROWS = 2 ** 15;

/**
 * Poisson(1)'s CDF at 0…11 as 32-bit thresholds: a uniform u32 below T[k] draws at most k.
 * P(X > 12) ≈ 1.7e-10: a draw beyond 11 is 12.
 */
const POISSON_CDF = (() => {
  const out = new Float64Array(12);
  let p = Math.exp(-1);
  let cdf = 0;
  for (let k = 0; k < 12; k++) {
    cdf += p;
    out[k] = Math.floor(cdf * 2 ** 32);
    p /= k + 1;
  }
  return out;
})();

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash of a row for a seed; a replicate's draw mixes it with the replicate number. */
export function rowKey(seed: number, row: number): number {
  const lo = row >>> 0;
  const hi = Math.floor(row / 2 ** 32) >>> 0;
  return fmix32(fmix32(Math.imul(seed >>> 0, 0x27d4eb2f) ^ lo) ^ Math.imul(hi + 1, 0x165667b1));
}

/** Row (key)'s Poisson(1) weight in replicate r. */
export function poissonWeight(key: number, r: number): number {
  const u = fmix32(key ^ Math.imul(r + 1, 0x9e3779b1));
  let k = 0;
  while (k < 12 && u >= POISSON_CDF[k]!) k++;
  return k;
}

const quantize = (x: number) => Math.round(Math.max(-CLIP, Math.min(CLIP, x)) * SCALE);

/** Replicate sums, per replicate, in units of 2^-16 (integers). */
export const BOOT_SUMS = ["used", "weight", "dLoss", "dNll", "dBrier", "dCorrect", "baseNll"] as const;
export type BootSum = (typeof BOOT_SUMS)[number];

export class PairedBootstrap {
  /** The exact totals so far; `pending` holds what has not been flushed into them yet. */
  readonly totals: Record<BootSum, bigint[]>;
  private readonly pending: Record<BootSum, Float64Array>;
  private sinceFlush = 0;

  constructor(
    readonly resamples: number,
    readonly seed: number,
  ) {
    this.totals = Object.fromEntries(
      BOOT_SUMS.map((k) => [k, Array.from({ length: resamples }, () => 0n)]),
    ) as Record<BootSum, bigint[]>;
    this.pending = Object.fromEntries(BOOT_SUMS.map((k) => [k, new Float64Array(resamples)])) as Record<
      BootSum,
      Float64Array
    >;
  }

  /**
   * Rows [from, from + n) of both sides' results, `baseAt`/`candAt` their positions in each;
   * `first` the first one's row index in the file. Rows used on one side are used on the other
   * (the same targets decide it).
   */
  add(base: RowResults, baseAt: number, cand: RowResults, candAt: number, n: number, first: number): void {
    const R = this.resamples;
    const p = this.pending;
    const { used, weight, dLoss, dNll, dBrier, dCorrect, baseNll } = p;
    for (let k = 0; k < n; k++) {
      const b = baseAt + k;
      const c = candAt + k;
      if (base.status[b] !== USED || cand.status[c] !== USED) continue;
      const key = rowKey(this.seed, first + k);
      const qw = quantize(base.weight[b]!);
      const ql = quantize(cand.loss[c]!) - quantize(base.loss[b]!);
      const qn = quantize(cand.nll[c]!) - quantize(base.nll[b]!);
      const qb = quantize(cand.brier[c]!) - quantize(base.brier[b]!);
      const qc = ((cand.rank[c] === 0 ? 1 : 0) - (base.rank[b] === 0 ? 1 : 0)) * SCALE;
      const qbn = quantize(base.nll[b]!);
      for (let r = 0; r < R; r++) {
        const w = poissonWeight(key, r);
        if (w === 0) continue;
        used[r]! += w * SCALE;
        weight[r]! += w * qw;
        dLoss[r]! += w * ql;
        dNll[r]! += w * qn;
        dBrier[r]! += w * qb;
        dCorrect[r]! += w * qc;
        baseNll[r]! += w * qbn;
      }
      if (++this.sinceFlush === FLUSH_ROWS) this.flush();
    }
  }

  /** Moves the float accumulators (exact integers below 2^53) into the BigInt totals. */
  flush(): void {
    for (const name of BOOT_SUMS) {
      const from = this.pending[name];
      const to = this.totals[name];
      for (let r = 0; r < this.resamples; r++) {
        if (from[r] !== 0) to[r]! += BigInt(from[r]!);
        from[r] = 0;
      }
    }
    this.sinceFlush = 0;
  }

  merge(other: PairedBootstrap): void {
    other.flush();
    for (const name of BOOT_SUMS)
      for (let r = 0; r < this.resamples; r++) this.totals[name][r]! += other.totals[name][r]!;
  }

  /** Each replicate's sums, as numbers in the values' own units. */
  replicates(): Record<BootSum, Float64Array> {
    this.flush();
    return Object.fromEntries(
      BOOT_SUMS.map((k) => [k, Float64Array.from(this.totals[k], (v) => Number(v) / SCALE)]),
    ) as Record<BootSum, Float64Array>;
  }
}

/** numpy.quantile's default (linear) on sorted values. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * A percentile interval at `level` and a two-sided sign p-value (twice the smaller share of
 * replicates on either side of 0, at least 1/R) from replicate differences; NaNs (a replicate
 * that drew no row) left out.
 */
export function interval(
  deltas: Float64Array,
  level: number,
): { low: number; high: number; p_value: number } {
  const finite = Float64Array.from(deltas.filter((d) => !Number.isNaN(d))).sort();
  const n = finite.length;
  if (n === 0) return { low: Number.NaN, high: Number.NaN, p_value: Number.NaN };
  let below = 0;
  let above = 0;
  for (const d of finite) {
    if (d <= 0) below++;
    if (d >= 0) above++;
  }
  return {
    low: quantile(finite, (1 - level) / 2),
    high: quantile(finite, (1 + level) / 2),
    p_value: Math.min(1, Math.max(1 / n, (2 * Math.min(below, above)) / n)),
  };
}
