import { allocRowResults, type RowResults } from "../core/rowResults.js";
import type { LossOptions } from "../core/types.js";
import { XentError } from "../errors.js";
import { Stats, summarize } from "./stats.js";

/**
 * Exact, mergeable statistics per `--group-by` value: one Stats per group, fed the group's rows of
 * every block (copied out of the block's results), so a group's numbers are exactly what an eval
 * of its rows alone would give, whatever the threads or chunk sizes.
 */

/** Groups beyond this are refused: a column of unique values (an id) is not a grouping (~20 KB a group). */
export const MAX_GROUPS = 100_000;

/** What JSON's `per_group` holds for one group. */
export interface GroupSummary {
  group: string;
  /** Rows of the group, and those used (not ignored or skipped). */
  count: number;
  used: number;
  /** null when no row of the group is used (all ignored): nothing to average. */
  loss: number | null;
  metrics: Record<string, number> | null;
}

export class GroupStats {
  readonly groups = new Map<string, Stats>();
  private scratch: RowResults = allocRowResults(0);

  constructor(
    readonly classes: number,
    readonly options: LossOptions,
    /** The `--group-by` column, for messages. */
    readonly column: string,
  ) {}

  /**
   * The rows of one block's results, each to its group (`groups[r]` is row r's value); or only
   * rows [from, from + n), `groups[k]` the value of row from + k (compare pairs runs of rows).
   */
  add(res: RowResults, groups: readonly string[], from = 0, n = res.rows - from): void {
    const buckets = new Map<string, number[]>();
    for (let r = from; r < from + n; r++) {
      const g = groups[r - from]!;
      const rows = buckets.get(g);
      if (rows === undefined) buckets.set(g, [r]);
      else rows.push(r);
    }
    for (const [g, rows] of buckets) {
      let stats = this.groups.get(g);
      if (stats === undefined) {
        if (this.groups.size >= MAX_GROUPS)
          throw new XentError(
            "usage",
            `--group-by ${this.column}: more than ${MAX_GROUPS} groups (is it an id column?)`,
          );
        // The TypeScript sums (wasm: false) are exact too: the same bits as the WebAssembly ones.
        stats = new Stats(this.classes, this.options, { perClass: false, worst: 0, wasm: false });
        this.groups.set(g, stats);
      }
      stats.add(this.subset(res, rows));
    }
  }

  /** Rows `rows` of `res` as results of their own (scratch reused from call to call). */
  private subset(res: RowResults, rows: readonly number[]): RowResults {
    const n = rows.length;
    const C = res.labels ? res.labels.flags.length / Math.max(1, res.status.length) : 0;
    if (this.scratch.status.length < n || (res.labels !== null) !== (this.scratch.labels !== null))
      this.scratch = allocRowResults(Math.max(n, this.scratch.status.length), res.labels ? C : 0);
    const out = this.scratch;
    out.rows = n;
    out.start = res.start;
    for (let k = 0; k < n; k++) {
      const r = rows[k]!;
      out.status[k] = res.status[r]!;
      out.loss[k] = res.loss[r]!;
      out.weight[k] = res.weight[r]!;
      out.nll[k] = res.nll[r]!;
      out.entropy[k] = res.entropy[r]!;
      out.brier[k] = res.brier[r]!;
      out.confidence[k] = res.confidence[r]!;
      out.pTarget[k] = res.pTarget[r]!;
      out.pred[k] = res.pred[r]!;
      out.target[k] = res.target[r]!;
      out.rank[k] = res.rank[r]!;
      out.value[k] = res.value[r]!;
    }
    if (res.labels && out.labels) {
      if (out.labels.flags.length < n * C) this.scratch = allocRowResults(n, C);
      const from = res.labels;
      const to = this.scratch.labels!;
      for (let k = 0; k < n; k++) {
        const r = rows[k]!;
        to.flags.set(from.flags.subarray(r * C, (r + 1) * C), k * C);
        to.loss.set(from.loss.subarray(r * C, (r + 1) * C), k * C);
        to.nll.set(from.nll.subarray(r * C, (r + 1) * C), k * C);
      }
    }
    return this.scratch;
  }

  merge(other: GroupStats): void {
    for (const [g, stats] of other.groups) {
      const mine = this.groups.get(g);
      if (mine) mine.merge(stats);
      else this.groups.set(g, stats);
    }
  }

  /** Every group's numbers, in the order of the group values (the same for any threads or shards). */
  summarize(classNames: readonly string[] | null): GroupSummary[] {
    return [...this.groups.keys()].sort(compareGroups).map((group) => {
      const stats = this.groups.get(group)!;
      const counts = { count: stats.rows, used: stats.used };
      if (stats.used === 0) return { group, ...counts, loss: null, metrics: null };
      const s = summarize(stats, classNames);
      return { group, ...counts, loss: s.loss, metrics: s.metrics };
    });
  }
}

/**
 * The groups a table shows: worst loss first (groups without used rows last), `limit` of them
 * (`--top-groups`; 0: all).
 */
export function worstGroups(groups: readonly GroupSummary[], limit: number): GroupSummary[] {
  const sorted = [...groups].sort((a, b) => (b.loss ?? -1) - (a.loss ?? -1));
  return limit === 0 ? sorted : sorted.slice(0, limit);
}

/** Numbers by value (2 before 10), then text by code point: group values are often integers. */
export function compareGroups(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  const numeric = (s: string, v: number) => s.trim() !== "" && Number.isFinite(v);
  if (numeric(a, x) && numeric(b, y) && x !== y) return x - y;
  if (numeric(a, x) !== numeric(b, y)) return numeric(a, x) ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
