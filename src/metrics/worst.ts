/** The K rows with the largest loss, ties to the lower index: mergeable across blocks and shards. */
export interface WorstRow {
  index: number;
  id?: string | undefined;
  /** The row's coordinates, when the block brought them (a ragged list-of-lists column). */
  pos?: number[] | undefined;
  target: number;
  loss: number;
  nll: number;
  pred: number;
  pTarget: number;
  /** Binary: the target as given (soft targets are not whole numbers). */
  value?: number;
  /** Multilabel: the row's weight (its label count, the loss being their sum) and wrong labels. */
  weight?: number;
  wrong?: number;
}

/** True when (loss, index) is listed before row b: larger loss first, then lower index; NaN last. */
function before(loss: number, index: number, b: WorstRow): boolean {
  const al = loss === loss ? loss : Number.NEGATIVE_INFINITY;
  const bl = b.loss === b.loss ? b.loss : Number.NEGATIVE_INFINITY;
  return al > bl || (al === bl && index < b.index);
}

/**
 * Kept as a binary heap whose root is the row that would leave first (the last in list order), so
 * that a row enters in O(log K): a sorted array took O(K) per row, and --worst 50000 took 22 s on
 * 200k rows. The list order is made on demand.
 */
export class WorstRows {
  private heap: WorstRow[] = [];
  private sorted: WorstRow[] | null = [];
  constructor(readonly k: number) {}

  /** The rows, worst first (ties: lower index first). */
  get rows(): WorstRow[] {
    if (this.sorted === null) {
      this.sorted = [...this.heap].sort((a, b) => (before(a.loss, a.index, b) ? -1 : 1));
    }
    return this.sorted;
  }

  /** Whether a row with this loss and index would enter the list (checked before building it). */
  wants(loss: number, index: number): boolean {
    if (this.k === 0) return false;
    if (this.heap.length < this.k) return true;
    return before(loss, index, this.heap[0]!);
  }

  add(row: WorstRow): void {
    if (!this.wants(row.loss, row.index)) return;
    this.sorted = null;
    const h = this.heap;
    if (h.length < this.k) {
      h.push(row);
      let i = h.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!later(h[i]!, h[parent]!)) break;
        [h[i], h[parent]] = [h[parent]!, h[i]!];
        i = parent;
      }
      return;
    }
    h[0] = row;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && later(h[l]!, h[m]!)) m = l;
      if (r < h.length && later(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }

  merge(other: WorstRows): void {
    for (const row of other.heap) this.add(row);
  }
}

/** Row a comes after row b in the list. */
const later = (a: WorstRow, b: WorstRow) => before(b.loss, b.index, a);
