import { type Data, DataType, Precision, type RecordBatch, type Vector } from "apache-arrow";
import type { Scores } from "../../core/types.js";
import { XentError } from "../../errors.js";
import { float16ToFloat32 } from "../float16.js";
import type { RawTargets, TargetKind } from "../types.js";

/**
 * Rows [from, from + n) of a record batch as xent reads them: scores row-major (zero-copy views
 * of a list column), targets as raw values, every null and short buffer an error naming the row.
 * Pure functions of apache-arrow's RecordBatch and Data.
 */

/**
 * What slices read of a record batch: apache-arrow's RecordBatch (recordBatchColumns), or rows of
 * a Parquet row group decoded to Arrow data (parquet/column.ts).
 */
export interface ColumnBatch {
  readonly numRows: number;
  /** The batch's first row in the file, when the reader knows it (Parquet, row groups read apart). */
  readonly start?: number;
  column(i: number): Vector;
  name(i: number): string;
}

export const recordBatchColumns = (batch: RecordBatch): ColumnBatch => ({
  numRows: batch.numRows,
  column: (i) => batch.getChildAt(i)!,
  name: (i) => batch.schema.fields[i]!.name,
});

export interface ScoreLayout {
  /** One list column of C floats per row… */
  list: number | null;
  /** …or one float column per class. */
  columns: number[];
  classes: number;
}

/** First row at or after 0 whose validity bit is clear. */
function firstNull(data: Data, rows: number): number {
  for (let i = 0; i < rows; i++) if (!data.getValid(i)) return i;
  return -1;
}

/** The float values of a column's Data as a typed array view (float16 widened to float32). */
function floatValues(data: Data, from: number, count: number): Scores {
  const values = data.values as Float32Array | Float64Array | Uint16Array;
  const start = data.offset + from;
  // subarray() would silently return fewer values than asked for.
  if (start + count > values.length)
    throw new XentError(
      "format",
      `corrupt Arrow data: ${count} values asked for, ${values.length - start} present`,
    );
  if (values instanceof Uint16Array) {
    const out = new Float32Array(count);
    float16ToFloat32(values.subarray(start, start + count), out);
    return out;
  }
  return values.subarray(start, start + count);
}

/** Scores of rows [from, from + n) of a batch, row-major; zero-copy for a list column. */
export function batchScores(
  batch: ColumnBatch,
  layout: ScoreLayout,
  from: number,
  n: number,
  start: number,
  name: string,
): Scores {
  const C = layout.classes;
  if (layout.list !== null) {
    const data = batch.column(layout.list).data[0]!;
    const bad = data.nullCount > 0 ? firstNull(data, batch.numRows) : -1;
    if (bad >= 0)
      throw new XentError("value", "null list of scores", { file: name, row: start - from + bad });
    const child = data.children[0]!;
    let first: number;
    if (DataType.isFixedSizeList(data.type)) first = (data.offset + from) * C;
    else {
      const offsets = data.valueOffsets as Int32Array | BigInt64Array;
      first = Number(offsets[data.offset + from]!);
      for (let i = 0; i < n; i++) {
        const length =
          Number(offsets[data.offset + from + i + 1]!) - Number(offsets[data.offset + from + i]!);
        if (length !== C) {
          throw new XentError("shape", `a list of ${length} scores where the first row has ${C}`, {
            file: name,
            row: start + i,
          });
        }
      }
    }
    if (child.nullCount > 0) {
      for (let i = 0; i < n * C; i++) {
        if (!child.getValid(first + i)) {
          throw new XentError("value", `null score of class ${i % C}`, {
            file: name,
            row: start + Math.floor(i / C),
          });
        }
      }
    }
    return floatValues(child, first, n * C);
  }
  // float32 class columns stay float32, as a list column of float32 does (and an NPY, and the worker
  // threads reading the columns): the float32 kernel then scores them alike, bit for bit.
  const single = layout.columns.every((column) => {
    const type = batch.column(column).type;
    return DataType.isFloat(type) && type.precision === Precision.SINGLE;
  });
  const out = single ? new Float32Array(n * C) : new Float64Array(n * C);
  layout.columns.forEach((column, c) => {
    const data = batch.column(column).data[0]!;
    if (data.nullCount > 0) {
      for (let i = 0; i < n; i++) {
        if (!data.getValid(from + i)) {
          throw new XentError("value", `null score in column '${batch.name(column)}'`, {
            file: name,
            row: start + i,
          });
        }
      }
    }
    const values = floatValues(data, from, n);
    for (let i = 0; i < n; i++) out[i * C + c] = values[i]!;
  });
  return out;
}

/** Targets of rows [from, from + n) of a batch's column. */
export function batchTargets(
  vector: Vector,
  kind: TargetKind,
  from: number,
  n: number,
  C: number,
  start: number,
  name: string,
): RawTargets {
  const data = vector.data[0]!;
  if (data.nullCount > 0) {
    for (let i = 0; i < n; i++) {
      if (!data.getValid(from + i))
        throw new XentError("value", "null target", { file: name, row: start + i });
    }
  }
  if (kind === "name") {
    const values: string[] = new Array(n);
    for (let i = 0; i < n; i++) values[i] = String(vector.get(from + i));
    return { kind, values };
  }
  if (kind === "probs") {
    const probs = batchScores(
      { numRows: vector.length, column: () => vector, name: () => "" },
      { list: 0, columns: [], classes: C },
      from,
      n,
      start,
      name,
    );
    return { kind, values: Float64Array.from(probs) };
  }
  const values = new Float64Array(n);
  if (DataType.isBool(vector.type)) {
    // Booleans are packed 8 to a byte: read through the vector.
    for (let i = 0; i < n; i++) values[i] = vector.get(from + i) ? 1 : 0;
    return { kind, values };
  }
  const raw = data.values as ArrayLike<number | bigint>;
  for (let i = 0; i < n; i++) {
    const v = raw[data.offset + from + i]!;
    values[i] = typeof v === "bigint" ? (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : Number.NaN) : v;
  }
  return { kind, values };
}
