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

/** True when a should be listed before b (larger loss first, then lower index; NaN last). */
function before(a: WorstRow, b: WorstRow): boolean {
  const al = a.loss === a.loss ? a.loss : Number.NEGATIVE_INFINITY;
  const bl = b.loss === b.loss ? b.loss : Number.NEGATIVE_INFINITY;
  return al > bl || (al === bl && a.index < b.index);
}

export class WorstRows {
  readonly rows: WorstRow[] = [];
  constructor(readonly k: number) {}

  /** Whether a row with this loss and index would enter the list (checked before building it). */
  wants(loss: number, index: number): boolean {
    if (this.k === 0) return false;
    if (this.rows.length < this.k) return true;
    return before({ index, loss } as WorstRow, this.rows[this.rows.length - 1]!);
  }

  add(row: WorstRow): void {
    if (!this.wants(row.loss, row.index)) return;
    let i = this.rows.length;
    while (i > 0 && before(row, this.rows[i - 1]!)) i--;
    this.rows.splice(i, 0, row);
    if (this.rows.length > this.k) this.rows.pop();
  }

  merge(other: WorstRows): void {
    for (const row of other.rows) this.add(row);
  }
}
