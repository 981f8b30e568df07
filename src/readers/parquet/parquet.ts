import { type FileHandle, open } from "node:fs/promises";
import { Field, type Vector } from "apache-arrow";
import { XentError } from "../../errors.js";
import { type ArrowInput, firstRows, PARQUET_TYPE } from "../arrow/arrow.js";
import type { ColumnBatch } from "../arrow/slices.js";
import { describeIoError } from "../files.js";
import { prepareCodecs } from "./codecs.js";
import { arrowType, ColumnCursor } from "./column.js";
import { type ParquetMeta, readParquetMeta } from "./metadata.js";
import { ChunkPages } from "./pages.js";

/**
 * A Parquet file as the Arrow reader's input: its top-level fields as Arrow fields, and its rows
 * as runs of at most SLICE_VALUES values from one row group, decoded page by page from the
 * columns that are read (a 1,000-column file whose scores are one list column reads that column
 * and the target, nothing else). Memory: the run being evaluated plus one page per column read.
 */

/** Values (list elements counted) in one run of rows: 4 MB of float32 (2^21: 15% more peak memory, no faster). */
const SLICE_VALUES = 2 ** 20;
const MAX_SLICE_ROWS = 65_536;

export interface ParquetInput extends ArrowInput {
  meta: ParquetMeta;
}

/**
 * `recycle`: each run of rows is written over the previous one's arrays (a reader done with a run
 * before it takes the next: worker threads). Off, every run is its own (runs handed to other
 * threads are transferred).
 */
export async function openParquet(path: string, name: string, recycle = false): Promise<ParquetInput> {
  let handle: FileHandle | null;
  try {
    handle = await open(path, "r");
  } catch (e) {
    throw new XentError("io", `cannot open: ${describeIoError(e)}`, { file: name });
  }
  let meta: ParquetMeta;
  try {
    meta = await readParquetMeta(handle, name);
  } catch (e) {
    await handle.close();
    throw e;
  }
  await prepareCodecs(meta.codecs);
  const fields = meta.fields.map(
    (f) => new Field(f.name, arrowType(f), true, new Map([[PARQUET_TYPE, f.type]])),
  );
  let rowsRead = 0;

  const cursor = (h: FileHandle, group: number, column: number) => {
    const f = meta.fields[column]!;
    if (f.column === null)
      throw new XentError(
        "format",
        `column '${f.name}' has Parquet type ${f.type}, which xent does not read`,
        {
          file: name,
        },
      );
    const where = `row group ${group}, column '${f.name}'`;
    const pages = new ChunkPages(h, name, f, meta.rowGroups[group]!.chunks[f.column]!, where, recycle);
    return new ColumnCursor(f, pages, recycle);
  };

  // The class count of a list column is its first row's length, as for Arrow's variable lists
  // (a list of lists: its first inner list's); `rowValues` sizes the runs of rows.
  const listLengths = new Map<number, number>();
  const rowValues = new Map<number, number>();
  const group = meta.rowGroups.findIndex((g) => g.rows > 0);
  if (group >= 0) {
    for (const [i, f] of meta.fields.entries()) {
      if (!f.list || !f.kind.startsWith("float")) continue;
      try {
        const top = (await cursor(handle, group, i).take(1)).data[0]!;
        const data = f.inner ? top.children[0]! : top;
        const offsets = data.valueOffsets as Int32Array;
        listLengths.set(i, data.length > 0 ? offsets[1]! - offsets[0]! : 0);
        rowValues.set(i, top.children[0]!.length * (f.inner ? (listLengths.get(i) ?? 1) : 1));
      } catch (e) {
        await handle.close();
        throw e;
      }
    }
  }

  const input: ParquetInput = {
    name,
    format: "parquet",
    meta,
    fields,
    progress: () => (meta.rows > 0 ? rowsRead / meta.rows : 1),
    blocks: null,
    path: null,
    first: null,
    listLengths,
    rows: meta.rows,
    rowGroups: { path, count: meta.rowGroups.length, writtenBy: meta.createdBy },
    starts: firstRows(meta.rowGroups.map((g) => g.rows)),
    compression:
      meta.codecs
        .filter((c) => c !== "UNCOMPRESSED")
        .map((c) => c.toLowerCase())
        .join("+") || null,
    async *batches(columns: number[], groups?: number[]): AsyncGenerator<ColumnBatch> {
      const read = [...new Set(columns)];
      const perRow = read.reduce((n, i) => n + (meta.fields[i]!.list ? (rowValues.get(i) ?? 1) : 1), 0);
      const step = Math.max(1, Math.min(MAX_SLICE_ROWS, Math.floor(SLICE_VALUES / Math.max(1, perRow))));
      try {
        const starts: number[] = [];
        let first = 0;
        for (const r of meta.rowGroups) {
          starts.push(first);
          first += r.rows;
        }
        for (const g of groups ?? meta.rowGroups.keys()) {
          const rowGroup = meta.rowGroups[g]!;
          if (rowGroup.rows === 0) continue;
          const cursors = read.map((i) => cursor(handle!, g, i));
          for (let from = 0; from < rowGroup.rows; from += step) {
            const n = Math.min(step, rowGroup.rows - from);
            const vectors = new Map<number, Vector>();
            const taken = await Promise.all(cursors.map((c) => c.take(n)));
            for (const [k, i] of read.entries()) vectors.set(i, taken[k]!);
            rowsRead += n;
            yield {
              numRows: n,
              start: starts[g]! + from,
              column: (i) => vectors.get(i)!,
              name: (i) => meta.fields[i]!.name,
            };
          }
          for (const c of cursors) await c.end();
        }
      } finally {
        await input.close();
      }
    },
    close: async () => {
      const h = handle;
      handle = null;
      await h?.close();
    },
  };
  return input;
}
