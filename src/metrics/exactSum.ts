/**
 * An exact, mergeable sum of doubles: Shewchuk's non-overlapping partials, as in Python's
 * math.fsum and d3's Adder. The partials represent the sum with no rounding at all, so the
 * rounded value() is the same bits whatever the order of the additions or how the terms were
 * split between accumulators that are later merged. This is what makes `--chunk-rows`,
 * `--threads` and shards unable to change a printed number.
 *
 * Infinities and NaN are counted apart and follow IEEE rules in value(). A finite sum past
 * ±1.8e308 saturates to ±inf (Python raises instead).
 */
export class ExactSum {
  /** partials[0, count) hold the sum; the array only grows (setting .length costs more than the adds). */
  private partials: number[] = [];
  private count = 0;
  private posInf = 0;
  private negInf = 0;
  private nan = 0;

  add(x: number): void {
    if (!Number.isFinite(x)) {
      if (x === Number.POSITIVE_INFINITY) this.posInf++;
      else if (x === Number.NEGATIVE_INFINITY) this.negInf++;
      else this.nan++;
      return;
    }
    const p = this.partials;
    const m = this.count;
    let n = 0;
    for (let j = 0; j < m; j++) {
      let y = p[j]!;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[n++] = lo;
      x = hi;
    }
    if (!Number.isFinite(x)) {
      this.count = 0;
      if (x > 0) this.posInf++;
      else this.negInf++;
      return;
    }
    p[n++] = x;
    this.count = n;
  }

  merge(other: ExactSum): void {
    for (const x of other.live()) this.add(x);
    this.posInf += other.posInf;
    this.negInf += other.negInf;
    this.nan += other.nan;
  }

  /** The sum correctly rounded to a double (Python's fsum rounding). */
  value(): number {
    if (this.nan > 0 || (this.posInf > 0 && this.negInf > 0)) return Number.NaN;
    if (this.posInf > 0) return Number.POSITIVE_INFINITY;
    if (this.negInf > 0) return Number.NEGATIVE_INFINITY;
    const p = this.partials;
    let n = this.count;
    if (n === 0) return 0;
    let hi = p[--n]!;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n]!;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Round half-even correctly when the rest of the partials push past the halfway point.
    if (n > 0 && ((lo < 0 && p[n - 1]! < 0) || (lo > 0 && p[n - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }

  /** A JSON-safe form for `--emit-state`: the partials and the special-value counts. */
  toJSON(): number[] {
    return [this.posInf, this.negInf, this.nan, ...this.live()];
  }

  private live(): number[] {
    return this.partials.slice(0, this.count);
  }

  static fromJSON(state: readonly number[]): ExactSum {
    const s = new ExactSum();
    s.posInf = state[0] ?? 0;
    s.negInf = state[1] ?? 0;
    s.nan = state[2] ?? 0;
    for (const x of state.slice(3)) s.add(x);
    return s;
  }
}
