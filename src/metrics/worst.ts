/** The K rows with the largest loss, ties to the lower index: mergeable across blocks and shards. */
export interface WorstRow {
  index: number;
  id?: string | undefined;
  target: number;
  loss: number;
  nll: number;
  pred: number;
  pTarget: number;
}

/** True when (loss, index) is listed before row b: larger loss first, then lower index; NaN last. */
function before(loss: number, index: number, b: WorstRow): boolean {
  const al = loss === loss ? loss : Number.NEGATIVE_INFINITY;
  const bl = b.loss === b.loss ? b.loss : Number.NEGATIVE_INFINITY;
  return al > bl || (al === bl && index < b.index);
}

export class WorstRows {
  readonly rows: WorstRow[] = [];
  constructor(readonly k: number) {}

  /** Whether a row with this loss and index would enter the list (checked before building it). */
  wants(loss: number, index: number): boolean {
    if (this.k === 0) return false;
    if (this.rows.length < this.k) return true;
    return before(loss, index, this.rows[this.rows.length - 1]!);
  }

  add(row: WorstRow): void {
    if (!this.wants(row.loss, row.index)) return;
    let i = this.rows.length;
    while (i > 0 && before(row.loss, row.index, this.rows[i - 1]!)) i--;
    this.rows.splice(i, 0, row);
    if (this.rows.length > this.k) this.rows.pop();
  }

  merge(other: WorstRows): void {
    for (const row of other.rows) this.add(row);
  }
}
