import { usage } from "../errors.js";

/**
 * `--rows START:END` and `--shard K/N`: a slice of one big file, so that a job array can spread
 * it over machines (each shard's `--emit-state`, merged, is the whole file's result bit for bit).
 */
export type RowSpec = { rows: { start: number; end: number | null } } | { shard: { k: number; n: number } };

/** A resolved range: rows [start, end) of the predictions, numbered as in the whole file. */
export interface RowRange {
  start: number;
  end: number;
  /** The file's rows, when known (a shard's, always). */
  total: number | null;
}

const whole = (text: string) => /^\d+$/.test(text) && Number.isSafeInteger(Number(text));

/** `START:END` (half-open, either end may be left out, as a Python slice) or `K/N` (0 ≤ K < N). */
export function parseRowSpec(rows: string | undefined, shard: string | undefined): RowSpec | null {
  if (rows !== undefined && shard !== undefined) throw usage("--rows and --shard: give one of them");
  if (rows !== undefined) {
    const m = /^([^:]*):([^:]*)$/.exec(rows.trim());
    const [start, end] = m ? [m[1]!.trim(), m[2]!.trim()] : ["", ""];
    if (!m || (start !== "" && !whole(start)) || (end !== "" && !whole(end)))
      throw usage(
        `--rows ${rows}: expected START:END, row numbers from 0, END excluded (e.g. 0:100000, 5000:)`,
      );
    const range = { start: start === "" ? 0 : Number(start), end: end === "" ? null : Number(end) };
    if (range.end !== null && range.end <= range.start)
      throw usage(`--rows ${rows}: END must be above START (an empty range has no loss)`);
    return { rows: range };
  }
  if (shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(shard.trim());
    const k = m ? Number(m[1]) : Number.NaN;
    const n = m ? Number(m[2]) : Number.NaN;
    if (!m || !(n >= 1) || !(k < n) || !Number.isSafeInteger(n))
      throw usage(`--shard ${shard}: expected K/N with 0 <= K < N (shard K of N, counted from 0)`);
    return { shard: { k, n } };
  }
  return null;
}

/**
 * The rows a spec takes of a file of `total` rows (null: unknown, a stream). Shard K of N is rows
 * [⌊K·total/N⌋, ⌊(K+1)·total/N⌋): the shards tile the file, their sizes differing by at most one.
 */
export function resolveRowSpec(spec: RowSpec, total: number | null, file: string): RowRange {
  if ("shard" in spec) {
    if (total === null)
      throw usage(
        `--shard needs the number of rows of ${file} before reading it: give a file, not standard input`,
      );
    const { k, n } = spec.shard;
    return { start: Math.floor((k * total) / n), end: Math.floor(((k + 1) * total) / n), total };
  }
  const { start, end } = spec.rows;
  if (total !== null && start >= total && total > 0)
    throw usage(`--rows ${start}:${end ?? ""}: ${file} has ${total} rows (numbered from 0)`);
  // END past the last row is cut to it, as a Python slice is.
  const last = total ?? Number.MAX_SAFE_INTEGER;
  return { start, end: Math.min(end ?? last, last), total };
}
