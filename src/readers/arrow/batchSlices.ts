import { closeSync } from "node:fs";
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
import { readFullySync } from "../files.js";
import { DISK_MARGIN, freeSpace, openTemporary, writeTemporary } from "../temporary.js";
import {
  type BufferReader,
  compressedBufferAt,
  type ReadAt,
  readBufferAt,
  type Scratch,
  statedLength,
} from "./codecs/buffer.js";
import type { ColumnBatch } from "./slices.js";
import type { BatchMeta } from "./validate.js";

/**
 * Compressed buffers decoded side by side at most on this thread: a zstd stream holds up to its
 * frame's window (about its column), an LZ4 stream 128 KiB (1,000 LZ4 class columns: 323 MiB
 * with --per-sample). More go to a temporary file first, when there is one.
 */
export const STREAMS_AT_ONCE = 16;

/** Compressed bytes read at a time for each streamed buffer (an LZ4 block of 64 KiB and its framing). */
const WINDOW = (1 << 16) + 64;

/** Bytes of the requested columns read at a time from a batch read in slices. */
export const SLICE_BYTES = 8 * 2 ** 20;

type Place = { node: number; buffer: number };

/** float32/64 and 8–64-bit integers (a corrupted schema can state any bit width: those go to apache-arrow, which names them). */
const fixedWidth = (type: DataType): boolean =>
  (DataType.isFloat(type) && (type.precision === Precision.SINGLE || type.precision === Precision.DOUBLE)) ||
  (DataType.isInt(type) && [8, 16, 32, 64].includes(type.bitWidth));

const isString = (type: DataType): boolean => DataType.isUtf8(type) || DataType.isLargeUtf8(type);

/** Bytes a value of a fixed-width type takes. */
const widthOf = (type: DataType): number =>
  DataType.isInt(type) ? type.bitWidth / 8 : (type as Float).precision === Precision.SINGLE ? 4 : 8;

/** The schema's fields, where each field's nodes and buffers start, and the columns to read. */
export interface SlicedColumns {
  fields: readonly Field[];
  places: readonly (Place | null)[];
  columns: readonly number[];
}

/** The file's name (messages), ~bytes a slice, and where and when to decode to a temporary file. */
export interface SliceOptions {
  name: string;
  sliceBytes: number;
  tempDir: string | undefined;
  streamsAtOnce?: number | undefined;
}

/**
 * Whether rows of a batch can be read a slice at a time for these columns, and the
 * bytes a row of them takes: float and integer columns, lists (fixed-size or not) of them, and
 * strings, none with a null (a null goes to apache-arrow's reading of the batch, whose messages
 * name its row). Null otherwise.
 */
export function sliceable(
  meta: BatchMeta,
  fields: readonly Field[],
  places: readonly (Place | null)[],
  columns: readonly number[],
  streamsAtOnce: number,
  temporary: boolean,
): number | null {
  if (meta.length === 0) return null;
  let bytes = 0;
  let streams = 0;
  for (const c of new Set(columns)) {
    const type = fields[c]!.type;
    const at = places[c];
    if (!at || meta.nodes[at.node]!.nullCount > 0) return null;
    if (fixedWidth(type)) {
      bytes += widthOf(type);
      streams += 1;
    } else if (isString(type)) {
      bytes += Math.ceil(meta.buffers[at.buffer + 2]!.length / meta.length) + 8;
      streams += 2;
    } else if (DataType.isFixedSizeList(type) || DataType.isList(type) || DataType.isLargeList(type)) {
      const child = type.children[0]!.type;
      if (!fixedWidth(child) || meta.nodes[at.node + 1]!.nullCount > 0) return null;
      const values = meta.buffers[at.buffer + (DataType.isFixedSizeList(type) ? 2 : 3)]!.length;
      bytes += Math.ceil(values / meta.length) + 8;
      streams += DataType.isFixedSizeList(type) ? 1 : 2;
    } else return null;
  }
  // A zstd stream holds its frame's window, which for a column is about the column: a batch of
  // class columns read side by side would hold the batch. Many compressed buffers are decoded into
  // a temporary file first, one after another (as the workers do, parallel/spill.ts), when there
  // is one; without, zstd ones are read whole by apache-arrow, LZ4 ones as streams (128 KiB each).
  if (meta.codec === "zstd" && streams > streamsAtOnce && !temporary) return null;
  return bytes;
}

/**
 * A record batch read in slices of rows: each slice's rows of the requested columns read from
 * the file (values; offsets, rebased to 0, and the values they span; a compressed buffer decoded
 * as a stream, in order), so that a batch of any size (polars writes a DataFrame as one) takes a
 * slice's memory. The batch's metadata was checked at open (buffers within the body, and as long
 * as the rows need when uncompressed: validate.ts); offsets are checked here as they are read (in
 * order, within their values), and a compressed buffer's stated length when it is decoded.
 */
export async function* batchSlices(
  handle: FileHandle,
  meta: BatchMeta,
  /** The batch's first row in the file, and the bytes a row of the columns takes (sliceable's). */
  { start, rowBytes }: { start: number; rowBytes: number },
  { fields, places, columns }: SlicedColumns,
  { name, sliceBytes, tempDir, streamsAtOnce = STREAMS_AT_ONCE }: SliceOptions,
): AsyncGenerator<ColumnBatch> {
  const body = meta.offset + meta.metaDataLength;
  const rows = meta.length;
  // A column asked for twice (a target column also the groups) is read once: a stream is read in order.
  const wanted = [...new Set(columns)];
  const corrupt = (what: string, row: number) =>
    new XentError("format", `corrupt Arrow data: ${what}`, { file: name, row });
  // Synchronous reads: a slice of 1,000 class columns is 1,000 reads of a few KiB, which as
  // FileHandle reads (a libuv request each) took 2.5 s for 200 MB, as readSync ~0.1 s.
  const readAt: ReadAt = (into, position) => readFullySync(handle.fd, into, position);
  /** A buffer's decoded length: as stored, or as its compressed form states (checked when decoded). */
  const lengths = new Map<number, number>();
  const decodedLength = (buffer: number): number => {
    const b = meta.buffers[buffer]!;
    if (meta.codec === null) return b.length;
    let n = lengths.get(buffer);
    if (n === undefined) {
      const prefix = new Uint8Array(8);
      if (b.length < 8) throw corrupt("a compressed buffer without its length", start);
      readAt(prefix, body + b.offset);
      n = statedLength(prefix);
      if (n === -1) n = b.length - 8;
      lengths.set(buffer, n);
    }
    return n;
  };
  /**
   * A compressed buffer is decoded as a stream, read in order: each slice asks for bytes at or
   * after the last (a slice's first offset is the last one's end: the last 8 bytes are kept).
   */
  const streams = new Map<number, { reader: BufferReader; position: number; tail: Uint8Array }>();
  const scratch: Scratch = { buffer: new Uint8Array(0) };
  const streamed = (buffer: number, at: number, length: number): Uint8Array => {
    let s = streams.get(buffer);
    if (!s) {
      const b = meta.buffers[buffer]!;
      const size = decodedLength(buffer);
      const reader = compressedBufferAt(
        readAt,
        body + b.offset,
        b.length,
        meta.codec!,
        size,
        scratch,
        WINDOW,
      );
      s = { reader, position: 0, tail: new Uint8Array(0) };
      streams.set(buffer, s);
    }
    const out = new Uint8Array(length);
    let o = 0;
    if (at < s.position) {
      const back = s.position - at;
      if (back > s.tail.length) throw new Error("a compressed Arrow buffer read backwards");
      o = Math.min(back, length);
      out.set(s.tail.subarray(s.tail.length - back, s.tail.length - back + o));
    }
    for (let skip = at - s.position; skip > 0; ) {
      const n = Math.min(skip, 1 << 20);
      s.reader.fill(new Uint8Array(n));
      skip -= n;
    }
    s.reader.fill(out.subarray(o));
    s.position = Math.max(s.position, at + length);
    const kept = new Uint8Array(Math.min(8, s.tail.length + length));
    const joined = kept.length > length ? [...s.tail, ...out] : null;
    kept.set(joined ? joined.slice(joined.length - kept.length) : out.subarray(length - kept.length));
    s.tail = kept;
    return out;
  };
  /** The buffers the columns read: more than STREAMS_AT_ONCE compressed go to a temporary file first. */
  const needed = wanted.flatMap((c) => {
    const type = fields[c]!.type;
    const b = places[c]!.buffer;
    if (fixedWidth(type)) return [b + 1];
    if (DataType.isFixedSizeList(type)) return [b + 2];
    return isString(type) ? [b + 1, b + 2] : [b + 1, b + 3];
  });
  const copy =
    meta.codec !== null && needed.length > streamsAtOnce && tempDir !== undefined
      ? decodeToTemporary(tempDir)
      : null;
  /**
   * Every needed buffer decoded into a temporary file, one after another (one zstd window at a
   * time), when the disk has the room and 256 MiB more; null otherwise (read as streams side by
   * side: about the batch in memory).
   */
  function decodeToTemporary(dir: string): { fd: number; at: Map<number, number> } | null {
    const at = new Map<number, number>();
    let total = 0;
    for (const b of needed) {
      at.set(b, total);
      total += decodedLength(b);
    }
    if (freeSpace(dir) < total + DISK_MARGIN) return null;
    const fd = openTemporary(dir);
    try {
      const piece = new Uint8Array(1 << 20);
      for (const b of needed) {
        const size = decodedLength(b);
        const { offset, length } = meta.buffers[b]!;
        readBufferAt(readAt, body + offset, length, meta.codec!, size, scratch, (reader) => {
          for (let done = 0; done < size; done += piece.length) {
            const n = Math.min(piece.length, size - done);
            reader.fill(piece.subarray(0, n));
            writeTemporary(fd, piece.subarray(0, n), at.get(b)! + done);
          }
        });
      }
      return { fd, at };
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }
  const read = (buffer: number, at: number, length: number): Uint8Array => {
    const size = decodedLength(buffer);
    if (at < 0 || at + length > size) throw corrupt(`a buffer read past its ${size} bytes`, start);
    if (copy) {
      const bytes = new Uint8Array(length);
      readFullySync(copy.fd, bytes, copy.at.get(buffer)! + at);
      return bytes;
    }
    if (meta.codec !== null) return streamed(buffer, at, length);
    const bytes = new Uint8Array(length);
    readAt(bytes, body + meta.buffers[buffer]!.offset + at);
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
  // Rows a slice: ~sliceBytes of the columns by their decoded sizes (a compressed buffer's stated
  // length: sized by the stored bytes, a slice of scores that compress 100× would be 100× larger),
  // a multiple of 8 so that a slice boundary never splits a byte of a bitmap.
  const decodedRow =
    meta.codec === null ? rowBytes : needed.reduce((n, b) => n + decodedLength(b), 0) / rows + 8;
  const step = Math.max(8, Math.floor(sliceBytes / Math.max(1, decodedRow) / 8) * 8);
  try {
    for (let from = 0; from < rows; from += step) {
      const n = Math.min(step, rows - from);
      const vectors = new Map<number, Vector>();
      for (const c of wanted) {
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
            decodedLength(at.buffer + 2),
            start + from,
          );
          const bytes = read(at.buffer + 2, span.first, span.count);
          data = makeData({
            type,
            length: n,
            nullCount: 0,
            valueOffsets: span.rebased,
            data: bytes,
          } as never);
        } else if (DataType.isFixedSizeList(type)) {
          const child = values(
            type.children[0]!.type,
            at.buffer + 2,
            from * type.listSize,
            n * type.listSize,
          );
          data = makeData({ type, length: n, nullCount: 0, child });
        } else {
          const childType = type.children[0]!.type;
          const limit = Math.floor(decodedLength(at.buffer + 3) / widthOf(childType));
          const span = offsets(
            "list",
            DataType.isLargeList(type),
            at.buffer + 1,
            from,
            n,
            limit,
            start + from,
          );
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
  } finally {
    for (const { reader } of streams.values()) reader.close();
    if (copy) closeSync(copy.fd);
  }
}
