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
/**
 * Rows between flushes of the float accumulators into BigInts: |w·q| ≤ 12 · 2^34 (a difference of
 * two clipped values), 2^15 rows of them < 2^53, so every partial sum is an exact integer.
 */
const FLUSH_ROWS = 2 ** 15;
/** Rows gathered before they go through the replicates (a divisor of FLUSH_ROWS). */
const BLOCK = 2048;

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

/**
 * The draw for each value of a uniform u32's top 16 bits; EXACT where a CDF threshold falls inside
 * those 65,536 values (12 of them), which are decided on all 32 bits. A table lookup instead of up
 * to three unpredictable branches (the weights are random): 2.8 s → 0.46 s for 2·10^8 draws.
 */
const EXACT = 255;
/** Built by the first bootstrap, not at load: every run loads this module, and the loop took 20 ms. */
let drawTable: Uint8Array | null = null;
function drawTableOnce(): Uint8Array {
  if (drawTable) return drawTable;
  const out = new Uint8Array(65536);
  for (let top = 0; top < 65536; top++) {
    const lo = drawAbove2(top * 65536, 0);
    const hi = drawAbove2(top * 65536 + 65535, 0);
    out[top] = lo === hi ? lo : EXACT;
  }
  drawTable = out;
  return out;
}

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

/** Row (key)'s Poisson(1) weight in replicate r (PairedBootstrap.add inlines it). */
export function poissonWeight(key: number, r: number): number {
  return drawAbove2(fmix32(key ^ Math.imul(r + 1, 0x9e3779b1)), 0);
}

/** The draw of a uniform u32: the first k whose CDF threshold exceeds it (from k = `from`). */
function drawAbove2(u: number, from = 3): number {
  let k = from;
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
  /** What has not been flushed into the totals yet: replicate r's sums at r·7 + BOOT_SUMS index. */
  private readonly acc: Float64Array;
  private readonly mult: Int32Array;
  private sinceFlush = 0;
  /** A block of gathered rows: hash keys and the six quantized per-row values. */
  private readonly keys = new Int32Array(BLOCK);
  private readonly q = Array.from({ length: 6 }, () => new Float64Array(BLOCK));

  constructor(
    readonly resamples: number,
    readonly seed: number,
  ) {
    this.totals = Object.fromEntries(
      BOOT_SUMS.map((k) => [k, Array.from({ length: resamples }, () => 0n)]),
    ) as Record<BootSum, bigint[]>;
    this.acc = new Float64Array(resamples * BOOT_SUMS.length);
    this.mult = Int32Array.from({ length: resamples }, (_, r) => Math.imul(r + 1, 0x9e3779b1));
  }

  /**
   * Rows [from, from + n) of both sides' results, `baseAt`/`candAt` their positions in each;
   * `first` the first one's row index in the file. Rows used on one side are used on the other
   * (the same targets decide it).
   */
  add(
    base: RowResults,
    baseAt: number,
    cand: RowResults,
    candAt: number,
    n: number,
    first: number,
    /** Only the run's rows k for which this holds (a group's rows). */
    keep?: (k: number) => boolean,
  ): void {
    // The used rows' quantized values, BLOCK at a time; then replicate by replicate over them,
    // with the seven sums in locals: 200k rows × 1000 resamples in ~1.1 s (3.7 s row by row,
    // where seven array updates per draw and the branches on random weights cost ~17 ns).
    const { keys, q } = this;
    let m = 0;
    for (let k = 0; k < n; k++) {
      const b = baseAt + k;
      const c = candAt + k;
      if (base.status[b] !== USED || cand.status[c] !== USED || (keep && !keep(k))) continue;
      keys[m] = rowKey(this.seed, first + k);
      q[0]![m] = quantize(base.weight[b]!);
      q[1]![m] = quantize(cand.loss[c]!) - quantize(base.loss[b]!);
      q[2]![m] = quantize(cand.nll[c]!) - quantize(base.nll[b]!);
      q[3]![m] = quantize(cand.brier[c]!) - quantize(base.brier[b]!);
      q[4]![m] = ((cand.rank[c] === 0 ? 1 : 0) - (base.rank[b] === 0 ? 1 : 0)) * SCALE;
      q[5]![m] = quantize(base.nll[b]!);
      if (++m === BLOCK) {
        this.addBlock(m);
        m = 0;
      }
    }
    if (m > 0) this.addBlock(m);
  }

  /** The first `m` gathered rows into every replicate's sums. */
  private addBlock(m: number): void {
    const { keys, acc, mult } = this;
    const draws = drawTableOnce();
    const [q0, q1, q2, q3, q4, q5] = this.q as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    for (let r = 0; r < this.resamples; r++) {
      const x = mult[r]!;
      let w0 = 0;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      for (let k = 0; k < m; k++) {
        let u = keys[k]! ^ x;
        u ^= u >>> 16;
        u = Math.imul(u, 0x85ebca6b);
        u ^= u >>> 13;
        u = Math.imul(u, 0xc2b2ae35);
        u ^= u >>> 16;
        let w = draws[u >>> 16]!;
        if (w === EXACT) w = drawAbove2(u >>> 0, 0);
        w0 += w;
        s0 += w * q0[k]!;
        s1 += w * q1[k]!;
        s2 += w * q2[k]!;
        s3 += w * q3[k]!;
        s4 += w * q4[k]!;
        s5 += w * q5[k]!;
      }
      const i = r * 7;
      acc[i]! += w0 * SCALE;
      acc[i + 1]! += s0;
      acc[i + 2]! += s1;
      acc[i + 3]! += s2;
      acc[i + 4]! += s3;
      acc[i + 5]! += s4;
      acc[i + 6]! += s5;
    }
    this.sinceFlush += m;
    if (this.sinceFlush >= FLUSH_ROWS) this.flush();
  }

  /** Moves the float accumulators (exact integers below 2^53) into the BigInt totals. */
  flush(): void {
    const width = BOOT_SUMS.length;
    BOOT_SUMS.forEach((name, j) => {
      const to = this.totals[name];
      for (let r = 0; r < this.resamples; r++) {
        const v = this.acc[r * width + j]!;
        if (v !== 0) to[r]! += BigInt(v);
        this.acc[r * width + j] = 0;
      }
    });
    this.sinceFlush = 0;
  }

  /** A bootstrap holding given totals (merged `--emit-state` shards). */
  static fromTotals(resamples: number, seed: number, totals: Record<BootSum, bigint[]>): PairedBootstrap {
    const boot = new PairedBootstrap(resamples, seed);
    for (const k of BOOT_SUMS) for (let r = 0; r < resamples; r++) boot.totals[k][r] = totals[k][r]!;
    return boot;
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
