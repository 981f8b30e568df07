import type { RowBlock } from "../core/types.js";
import { XentError } from "../errors.js";
import type { TargetSource } from "./types.js";

/**
 * `--groups FILE`: one group value per row, from a file of its own (a CSV/TSV column, an NPY or
 * Arrow/Parquet column), read as a targets file is and lined up with the blocks row by row. The
 * file must have exactly the predictions' rows: a short or long one is an error, never a shifted
 * grouping.
 */
export async function* withGroups(
  blocks: AsyncIterable<RowBlock>,
  groups: TargetSource,
  chunkRows: number,
): AsyncGenerator<RowBlock> {
  const file = groups.info.path;
  const it = groups.chunks(chunkRows)[Symbol.asyncIterator]();
  let buffer: string[] = [];
  let at = 0;
  let read = 0;
  const take = async (n: number, start: number): Promise<string[]> => {
    while (buffer.length - at < n) {
      const next = await it.next();
      if (next.done)
        throw new XentError(
          "shape",
          `the groups file has ${read} rows, the predictions more (row ${start + buffer.length - at} has no group)`,
          { file },
        );
      const t = next.value.targets;
      if (t.kind === "probs") throw new XentError("shape", "a groups file holds one value per row", { file });
      const values: string[] =
        t.kind === "name" ? t.values : Array.from(t.values, (v) => (Number.isNaN(v) ? "NaN" : String(v)));
      read += values.length;
      buffer = [...buffer.slice(at), ...values];
      at = 0;
    }
    const out = buffer.slice(at, at + n);
    at += n;
    return out;
  };
  for await (const block of blocks) {
    block.groups = await take(block.rows, block.start);
    yield block;
  }
  if (buffer.length > at || !(await it.next()).done)
    throw new XentError("shape", "the groups file has more rows than the predictions", { file });
}
