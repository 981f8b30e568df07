import { readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import {
  type Data,
  DataType,
  type Field,
  type Float,
  makeData,
  makeVector,
  Precision,
  type Vector,
} from "apache-arrow";
import { XentError } from "../../errors.js";
import type { ColumnBatch } from "./slices.js";
import type { BatchMeta } from "./validate.js";

/** Bytes of the requested columns read at a time from a batch read in slices. */
const SLICE_BYTES = 8 * 2 ** 20;

type Place = { node: number; buffer: number };

const fixedWidth = (type: DataType): boolean =>
  (DataType.isFloat(type) && type.precision !== Precision.HALF) || DataType.isInt(type);

const isString = (type: DataType): boolean => DataType.isUtf8(type) || DataType.isLargeUtf8(type);

/** Bytes a value of a fixed-width type takes. */
const widthOf = (type: DataType): number =>
  DataType.isInt(type) ? type.bitWidth / 8 : (type as Float).precision === Precision.SINGLE ? 4 : 8;

/**
 * Whether rows of an uncompressed batch can be read a slice at a time for these columns, and the
 * bytes a row of them takes: float and integer columns, lists (fixed-size or not) of them, and
 * strings, none with a null (a null goes to apache-arrow's reading of the batch, whose messages
 * name its row). Null otherwise.
 */
export function sliceable(
  meta: BatchMeta,
  fields: readonly Field[],
  places: readonly (Place | null)[],
  columns: readonly number[],
): number | null {
  if (meta.codec !== null || meta.length === 0) return null;
  let bytes = 0;
  for (const c of columns) {
    const type = fields[c]!.type;
    const at = places[c];
    if (!at || meta.nodes[at.node]!.nullCount > 0) return null;
    if (fixedWidth(type)) bytes += widthOf(type);
    else if (isString(type)) bytes += Math.ceil(meta.buffers[at.buffer + 2]!.length / meta.length) + 8;
    else if (DataType.isFixedSizeList(type) || DataType.isList(type) || DataType.isLargeList(type)) {
      const child = type.children[0]!.type;
      if (!fixedWidth(child) || meta.nodes[at.node + 1]!.nullCount > 0) return null;
      const values = meta.buffers[at.buffer + (DataType.isFixedSizeList(type) ? 2 : 3)]!.length;
      bytes += Math.ceil(values / meta.length) + 8;
    } else return null;
  }
  return bytes;
}

/**
 * An uncompressed record batch read in slices of rows: each slice's rows of the requested columns
 * read from the file (values; offsets, rebased to 0, and the values they span), so that a batch of
 * any size (polars writes a DataFrame as one) takes a slice's memory. The batch's metadata was
 * checked at open (buffers within the body and as long as the rows need: validate.ts); offsets
 * are checked here as they are read (in order, within their values).
 */
export async function* batchSlices(
  handle: FileHandle,
  meta: BatchMeta,
  fields: readonly Field[],
  places: readonly (Place | null)[],
  columns: readonly number[],
  rowBytes: number,
  start: number,
  name: string,
): AsyncGenerator<ColumnBatch> {
  const body = meta.offset + meta.metaDataLength;
  const rows = meta.length;
  // A multiple of 8 rows: a slice boundary never splits a byte of a bitmap.
  const step = Math.max(8, Math.floor(SLICE_BYTES / Math.max(1, rowBytes) / 8) * 8);
  const corrupt = (what: string, row: number) =>
    new XentError("format", `corrupt Arrow data: ${what}`, { file: name, row });
  // Synchronous reads: a slice of 1,000 class columns is 1,000 reads of a few KiB, which as
  // FileHandle reads (a libuv request each) took 2.5 s for 200 MB, as readSync ~0.1 s.
  const read = (buffer: number, at: number, length: number): Uint8Array => {
    const b = meta.buffers[buffer]!;
    if (at < 0 || at + length > b.length) throw corrupt(`a buffer read past its ${b.length} bytes`, start);
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(handle.fd, bytes, done, length - done, body + b.offset + at + done);
      if (n === 0) throw new XentError("io", "unexpected end of file", { file: name });
      done += n;
    }
    return bytes;
  };
  /** Fixed-width values [first, first + n) of buffer `buffer`, as their type's array. */
  const values = (type: DataType, buffer: number, first: number, n: number): Data => {
    const w = widthOf(type);
    const bytes = read(buffer, first * w, n * w);
    const Typed = (
      type as DataType & { ArrayType: new (b: ArrayBuffer, o: number, n: number) => ArrayLike<number> }
    ).ArrayType;
    return makeData({ type, length: n, nullCount: 0, data: new Typed(bytes.buffer, 0, n) } as never);
  };
  /** Offsets [from, from + n] of buffer `buffer`, checked and rebased to 0, with the span they cover. */
  const offsets = (
    what: "list" | "string",
    large: boolean,
    buffer: number,
    from: number,
    n: number,
    limit: number,
    row: number,
  ) => {
    const size = large ? 8 : 4;
    const raw = read(buffer, from * size, (n + 1) * size);
    const view = new DataView(raw.buffer);
    const at = (i: number) =>
      large ? Number(view.getBigInt64(i * size, true)) : view.getInt32(i * size, true);
    const first = at(0);
    const rebased = large ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
    let previous = first;
    for (let i = 0; i <= n; i++) {
      const o = at(i);
      if (o < previous || o > limit)
        throw corrupt(`${what} offsets out of order or past their values`, row + i);
      previous = o;
      if (large) (rebased as BigInt64Array)[i] = BigInt(o - first);
      else (rebased as Int32Array)[i] = o - first;
    }
    return { rebased, first, count: previous - first };
  };
  for (let from = 0; from < rows; from += step) {
    const n = Math.min(step, rows - from);
    const vectors = new Map<number, Vector>();
    for (const c of columns) {
      const type = fields[c]!.type;
      const at = places[c]!;
      let data: Data;
      if (fixedWidth(type)) data = values(type, at.buffer + 1, from, n);
      else if (isString(type)) {
        const span = offsets(
          "string",
          DataType.isLargeUtf8(type),
          at.buffer + 1,
          from,
          n,
          meta.buffers[at.buffer + 2]!.length,
          start + from,
        );
        const bytes = read(at.buffer + 2, span.first, span.count);
        data = makeData({ type, length: n, nullCount: 0, valueOffsets: span.rebased, data: bytes } as never);
      } else if (DataType.isFixedSizeList(type)) {
        const child = values(type.children[0]!.type, at.buffer + 2, from * type.listSize, n * type.listSize);
        data = makeData({ type, length: n, nullCount: 0, child });
      } else {
        const childType = type.children[0]!.type;
        const limit = meta.buffers[at.buffer + 3]!.length / widthOf(childType);
        const span = offsets("list", DataType.isLargeList(type), at.buffer + 1, from, n, limit, start + from);
        const child = values(childType, at.buffer + 3, span.first, span.count);
        data = makeData({ type, length: n, nullCount: 0, valueOffsets: span.rebased, child } as never);
      }
      vectors.set(c, makeVector(data));
    }
    yield {
      numRows: n,
      start: start + from,
      column: (i) => {
        const v = vectors.get(i);
        if (!v) throw new Error(`column ${i} was not read`);
        return v;
      },
      name: (i) => fields[i]!.name,
    };
  }
}
