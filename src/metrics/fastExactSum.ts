import { ExactSum } from "./exactSum.js";

/**
 * An exact sum with an O(1) add, for the few sums every row feeds (loss, nll, Brier, calibration
 * bins): a fixed-point accumulator in the manner of Neal's "small superaccumulator" (xsum).
 * Every finite double is an integer m < 2^53 times 2^(s − 1074); its bits land in 32-bit-aligned
 * chunks, each chunk a double holding an exact integer. A chunk gains less than 2^32 per add, so
 * 2^20 adds fit below 2^53 before carries are propagated. value(), toJSON() and merge() hand the
 * chunks (exact doubles, chunk × 2^(32k − 1074)) to an ExactSum, so results are ExactSum's to the
 * bit: same value whatever the order, chunking or merging.
 *
 * Why: ExactSum's add walks its partials (~25 ns); four of them per row were 60% of a 10M-row
 * binary run. This add is integer shifts and three float adds.
 */
export const CHUNKS = 68;
const RADIX = 2 ** 32;
const HALF = 2 ** 31;
/** Adds between carry propagations: each chunk stays below 2^20 · 2^32 = 2^52. */
const CARRY_EVERY = 1 << 20;
/** 2^(32k − 1074): exact powers of two (the first is the smallest subnormal); Infinity past the range. */
const SCALE = Array.from({ length: CHUNKS }, (_, k) => {
  let x = Number.MIN_VALUE;
  for (let i = 0; i < k; i++) x *= RADIX;
  return x;
});

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
// The low word comes first on little-endian hosts (every platform Node runs on today).
const LOW = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;

export class FastExactSum {
  private readonly chunks = new Float64Array(CHUNKS);
  private adds = 0;
  /** Special values and everything already carried out of the chunks. */
  private readonly exact = new ExactSum();

  add(x: number): void {
    bits[0] = x;
    const lo = words[LOW]!;
    const hi = words[1 - LOW]!;
    let e = (hi >>> 20) & 0x7ff;
    if (e === 0x7ff) {
      this.exact.add(x);
      return;
    }
    let m = hi & 0xfffff;
    if (e === 0) {
      if (m === 0 && lo === 0) return;
      e = 1;
    } else m |= 0x100000;
    // x = (m·2^32 + lo) · 2^(e − 1075): the lowest bit sits at position e − 1 above 2^−1074.
    const s = e - 1;
    const k = s >>> 5;
    const o = s & 31;
    let c0 = lo;
    let c1 = m;
    let c2 = 0;
    if (o !== 0) {
      c0 = (lo << o) >>> 0;
      c1 = ((m << o) | (lo >>> (32 - o))) >>> 0;
      c2 = m >>> (32 - o);
    }
    const chunks = this.chunks;
    if (hi >>> 31 === 0) {
      chunks[k]! += c0;
      chunks[k + 1]! += c1;
      chunks[k + 2]! += c2;
    } else {
      chunks[k]! -= c0;
      chunks[k + 1]! -= c1;
      chunks[k + 2]! -= c2;
    }
    if (++this.adds === CARRY_EVERY) this.carry();
  }

  /**
   * Adds chunk k of an accumulator kept elsewhere (src/metrics/binarySums.ts, i64 chunks in
   * WebAssembly): its low 32 bits (unsigned) go to chunk k, its high 32 bits (signed) to k + 1.
   */
  addChunk(k: number, low: number, high: number): void {
    this.chunks[k]! += low;
    this.chunks[k + 1]! += high;
    if (++this.adds === CARRY_EVERY) this.carry();
  }

  /** Adds infinities and NaNs counted elsewhere. */
  addSpecials(posInf: number, negInf: number, nan: number): void {
    for (let i = 0; i < posInf; i++) this.exact.add(Number.POSITIVE_INFINITY);
    for (let i = 0; i < negInf; i++) this.exact.add(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < nan; i++) this.exact.add(Number.NaN);
  }

  /**
   * Propagates carries so that every chunk but the last lies in [−2^31, 2^31): balanced digits,
   * so a small negative sum stays in the low chunks (−1 is one chunk of −1, not a complement
   * reaching the top chunk, whose scale is past the double range).
   */
  private carry(): void {
    const chunks = this.chunks;
    for (let k = 0; k < CHUNKS - 1; k++) {
      const c = chunks[k]!;
      if (c >= -HALF && c < HALF) continue;
      const q = Math.floor((c + HALF) / RADIX);
      chunks[k] = c - q * RADIX;
      chunks[k + 1]! += q;
    }
    this.adds = 0;
  }

  /**
   * Moves the chunks into the ExactSum: each is an exact double. The digits are first given the
   * total's sign, so that no term exceeds the total: with balanced digits MAX_VALUE became
   * 2^1024 − 2^1006·…, a first term of 2^1024 (inf) for a finite sum.
   */
  private flush(): ExactSum {
    if (this.adds === 0 && this.chunks.every((c) => c === 0)) return this.exact;
    this.carry();
    const chunks = this.chunks;
    let top = CHUNKS - 1;
    while (top > 0 && chunks[top] === 0) top--;
    const negative = chunks[top]! < 0;
    for (let k = 0; k < top; k++) {
      const c = chunks[k]!;
      if (negative ? c <= 0 : c >= 0) continue;
      // Borrow one unit of the next chunk: the digit takes the total's sign, |digit| < 2^32.
      chunks[k] = negative ? c - RADIX : c + RADIX;
      chunks[k + 1]! += negative ? 1 : -1;
    }
    for (let k = 0; k < CHUNKS; k++) {
      const c = chunks[k]!;
      if (c === 0) continue;
      // Past 2^1024 (only when the sum itself overflows) the product is ±inf: ExactSum saturates.
      this.exact.add(c * SCALE[k]!);
      chunks[k] = 0;
    }
    return this.exact;
  }

  merge(other: FastExactSum | ExactSum): void {
    this.exact.merge(other instanceof FastExactSum ? other.flush() : other);
  }

  /** The sum correctly rounded to a double: ExactSum's value of the same terms. */
  value(): number {
    return this.flush().value();
  }

  toJSON(): number[] {
    return this.flush().toJSON();
  }
}
