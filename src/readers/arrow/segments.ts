import { readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { CompressionType, DataType, type Field, Message, Precision } from "apache-arrow";
import { columnSegmentRows } from "../columnSegments.js";
import type { NpyDtype } from "../npy/header.js";
import type { DirectPlan, Segment, StoredColumns } from "../types.js";
import { prepareZstd } from "../zstd.js";
import { type ArrowCodec, decodeArrowBuffer, storedBufferAt } from "./codecs/buffer.js";
import { isListType } from "./sequences.js";
import type { BatchMeta } from "./validate.js";

export type { DirectPlan };

/** A record batch's place in an Arrow file (from the footer). */
export interface Block {
  offset: number;
  metaDataLength: number;
  bodyLength: number;
  /**
   * Its metadata as validate.ts read and checked it, when it did: not decoded a second time (a
   * batch of 1,000 class columns took apache-arrow's Message.decode ~35 ms on the main thread).
   */
  meta?: BatchMeta | undefined;
}

/** What the plans read of a batch's metadata; codec "other" for a codec xent does not decode. */
interface BatchHeader {
  length: number;
  nodes: readonly { length: number; nullCount: number }[];
  buffers: readonly { offset: number; length: number }[];
  codec: ArrowCodec | "other" | null;
}

/** Nodes (one per field, children included) and buffers a type takes in a record batch. */
function layout(type: DataType): { nodes: number; buffers: number } | null {
  if (DataType.isInt(type) || DataType.isFloat(type) || DataType.isBool(type) || DataType.isDate(type))
    return { nodes: 1, buffers: 2 };
  if (
    DataType.isTimestamp(type) ||
    DataType.isTime(type) ||
    DataType.isDecimal(type) ||
    DataType.isDuration(type)
  )
    return { nodes: 1, buffers: 2 };
  if (DataType.isDictionary(type)) return { nodes: 1, buffers: 2 };
  if (
    DataType.isUtf8(type) ||
    DataType.isLargeUtf8(type) ||
    DataType.isBinary(type) ||
    DataType.isLargeBinary(type)
  )
    return { nodes: 1, buffers: 3 };
  if (DataType.isFixedSizeBinary(type)) return { nodes: 1, buffers: 2 };
  if (
    DataType.isList(type) ||
    DataType.isLargeList(type) ||
    DataType.isFixedSizeList(type) ||
    DataType.isStruct(type)
  ) {
    let nodes = 1;
    let buffers = DataType.isFixedSizeList(type) || DataType.isStruct(type) ? 1 : 2;
    for (const child of type.children) {
      const c = layout(child.type);
      if (!c) return null;
      nodes += c.nodes;
      buffers += c.buffers;
    }
    return { nodes, buffers };
  }
  return null; // views (variadic buffers), unions, maps: not worth the direct path
}

/**
 * Where each field's nodes and buffers start in every record batch of this schema (null past a
 * field of a layout not followed here).
 */
export function positions(fields: Field[]): ({ node: number; buffer: number } | null)[] {
  const out: ({ node: number; buffer: number } | null)[] = [];
  let node = 0;
  let buffer = 0;
  let known = true;
  for (const field of fields) {
    out.push(known ? { node, buffer } : null);
    const l = layout(field.type);
    if (!l) known = false;
    else {
      node += l.nodes;
      buffer += l.buffers;
    }
  }
  return out;
}

function dtypeOf(type: DataType): NpyDtype | null {
  if (DataType.isFloat(type)) {
    if (type.precision === Precision.HALF) return null;
    const size = type.precision === Precision.SINGLE ? 4 : 8;
    return { kind: "f", size, littleEndian: true, name: `float${size * 8}` };
  }
  if (DataType.isInt(type)) {
    const size = type.bitWidth / 8;
    return {
      kind: type.isSigned ? "i" : "u",
      size,
      littleEndian: true,
      name: `${type.isSigned ? "int" : "uint"}${type.bitWidth}`,
    };
  }
  return null;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) throw new Error("unexpected end of file");
    done += bytesRead;
  }
  return bytes;
}

/** A record batch's metadata (the flatbuffer Message before its body), or null when it is not one. */
async function batchHeader(handle: FileHandle, block: Block): Promise<BatchHeader | null> {
  if (block.meta) return block.meta;
  const prefix = await readAt(handle, block.offset, 8);
  const view = new DataView(prefix.buffer);
  const continued = view.getInt32(0, true) === -1;
  const length = continued ? view.getInt32(4, true) : view.getInt32(0, true);
  const message = Message.decode(await readAt(handle, block.offset + (continued ? 8 : 4), length));
  if (!message.isRecordBatch()) return null;
  const header = message.header();
  const codec = header.compression ? (codecOf(header.compression.type) ?? "other") : null;
  return { length: header.length, nodes: header.nodes, buffers: header.buffers, codec };
}

/**
 * What opening an Arrow file needs from its first record batch, read from the batch's metadata
 * (and a List column's first two offsets) instead of the whole batch: whether the batch is
 * compressed, and the length of each list column's first row. Null when the batch is compressed
 * or anything looks off; the caller then reads the batch whole, which names what is wrong.
 */
export async function peekFirstBatch(
  handle: FileHandle,
  block: Block,
  fields: Field[],
): Promise<{ listLengths: Map<number, number> } | null> {
  try {
    const header = await batchHeader(handle, block);
    if (!header) return null;
    // A compressed batch's offsets are a compressed buffer: small, decoded whole (not the batch).
    const codec = header.codec;
    if (codec === "other") return null;
    if (codec === "zstd") await prepareZstd();
    const listLengths = new Map<number, number>();
    const places = positions(fields);
    for (let column = 0; column < fields.length; column++) {
      const type = fields[column]!.type;
      if (!DataType.isList(type) && !DataType.isLargeList(type)) continue;
      // A list of lists: its class count is an inner list's length, which the first batch tells.
      if (isListType(type.children[0]!.type)) return null;
      const at = places[column];
      if (!at) return null;
      if (header.length === 0) {
        listLengths.set(column, 0);
        continue;
      }
      const offsets = header.buffers[at.buffer + 1]!;
      const size = DataType.isLargeList(type) ? 8 : 4;
      const at0 = block.offset + block.metaDataLength + offsets.offset;
      const raw = codec
        ? decodeArrowBuffer(await readAt(handle, at0, offsets.length), codec)
        : offsets.length < 2 * size
          ? null
          : await readAt(handle, at0, 2 * size);
      if (raw === null || raw.length < 2 * size) return null;
      const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
      const length =
        size === 8
          ? Number(view.getBigInt64(8, true) - view.getBigInt64(0, true))
          : view.getInt32(4, true) - view.getInt32(0, true);
      listLengths.set(column, length);
    }
    return { listLengths };
  } catch {
    return null;
  }
}

const codecOf = (type: CompressionType): ArrowCodec | null =>
  type === CompressionType.LZ4_FRAME ? "lz4" : type === CompressionType.ZSTD ? "zstd" : null;

/**
 * Whether a compressed batch's List offsets start at 0 and step by C (its values are then the
 * rows' scores back to back, as a FixedSizeList's): the offsets buffer is small, decoded here.
 */
async function listStepsBy(
  handle: FileHandle,
  body: number,
  buffer: { offset: number; length: number },
  rows: number,
  large: boolean,
  C: number,
  codec: ArrowCodec,
): Promise<boolean> {
  const size = large ? 8 : 4;
  if (codec === "zstd") await prepareZstd();
  let raw: Uint8Array;
  try {
    raw = decodeArrowBuffer(await readAt(handle, body + buffer.offset, buffer.length), codec);
  } catch {
    return false; // the general path reads the batch and names what is wrong
  }
  if (raw.length < (rows + 1) * size) return false;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const at = (i: number) =>
    large ? Number(view.getBigInt64(i * size, true)) : view.getInt32(i * size, true);
  for (let i = 0; i <= rows; i++) if (at(i) !== i * C) return false;
  return true;
}

/** Where the scores are: a list column, or one float column per class. */
export type ScoreColumns = { list: number } | { columns: readonly number[] };

/** An NPY of index targets beside the Arrow file: its path, dtype and where its data starts. */
export interface ExternalTargets {
  path: string;
  dtype: NpyDtype;
  at: number;
}

/**
 * For an Arrow file whose scores are a list column of float32/64 (or one such column per class)
 * with no nulls and whose targets are an integer (or float) column with no
 * nulls, or an NPY beside it: where each batch's scores and targets lie, so that worker threads
 * can read them straight into their kernels as they do an NPY's. Null when any batch does not fit
 * (nulls, ragged lists): the general path then reads the file, and names
 * whatever is wrong.
 */
export async function arrowDirectPlan(
  path: string,
  handle: FileHandle,
  blocks: readonly Block[],
  fields: Field[],
  where: ScoreColumns,
  target: number | ExternalTargets,
  C: number,
  chunkRows: number,
): Promise<DirectPlan | null> {
  const at = positions(fields);
  // The targets: the file's own column (t: where its node and buffers are), or an NPY beside it.
  const own = typeof target === "number";
  const external = own ? null : target;
  const t = own ? (at[target] ?? null) : null;
  const targets = own ? dtypeOf(fields[target]!.type) : target.dtype;
  if (!targets || (!external && !t) || C === 0) return null;
  if ("columns" in where) {
    const first = fields[where.columns[0]!];
    const scores = first ? dtypeOf(first.type) : null;
    if (scores?.kind !== "f" || where.columns.length !== C) return null;
    const places: { node: number; buffer: number }[] = [];
    for (const c of where.columns) {
      const place = at[c];
      const dtype = dtypeOf(fields[c]!.type);
      if (!place || !dtype || dtype.kind !== "f" || dtype.size !== scores.size) return null;
      places.push(place);
    }
    return columnsPlan(path, handle, blocks, places, t, external, scores, targets, chunkRows);
  }
  const list = where.list;
  const listType = fields[list]!.type;
  const scores = dtypeOf(listType.children[0]!.type);
  const l = at[list];
  if (!scores || !l) return null;
  const fixed = DataType.isFixedSizeList(listType);
  const large = DataType.isLargeList(listType);
  const segments: Segment[] = [];
  let start = 0;
  for (const block of blocks) {
    const header = await batchHeader(handle, block);
    if (!header) return null;
    const rows = header.length;
    const nodes = header.nodes;
    const buffers = header.buffers;
    if (nodes[l.node]!.nullCount > 0 || nodes[l.node + 1]!.nullCount > 0) return null;
    if (t && nodes[t.node]!.nullCount > 0) return null;
    const body = block.offset + block.metaDataLength;
    const values = buffers[l.buffer + (fixed ? 2 : 3)]!;
    const place = targetPlace(external, targets, t ? buffers[t.buffer + 1] : undefined, body, start);
    if (header.codec) {
      // A compressed batch is one segment: its buffers are decoded whole, in the worker.
      const codec = header.codec;
      if (codec === "other") return null;
      if (!fixed && !(await listStepsBy(handle, body, buffers[l.buffer + 1]!, rows, large, C, codec)))
        return null;
      segments.push({
        start,
        rows,
        scoresAt: body + values.offset,
        targetsAt: place.at,
        codec,
        scoresBytes: values.length,
        targetsBytes: place.bytes,
      });
      start += rows;
      continue;
    }
    let first = 0;
    if (!fixed) {
      // A List's rows must each hold C values, back to back: the offsets then step by C.
      const offsets = buffers[l.buffer + 1]!;
      const size = large ? 8 : 4;
      const raw = await readAt(handle, body + offsets.offset, (rows + 1) * size);
      const ov = new DataView(raw.buffer);
      const at = (i: number) =>
        large ? Number(ov.getBigInt64(i * size, true)) : ov.getInt32(i * size, true);
      first = at(0);
      for (let i = 1; i <= rows; i++) if (at(i) - at(i - 1) !== C) return null;
    }
    const scoresAt = body + values.offset + first * scores.size;
    if (values.length < (first + rows * C) * scores.size) return null;
    for (let from = 0; from < rows; from += chunkRows) {
      const n = Math.min(chunkRows, rows - from);
      segments.push({
        start: start + from,
        rows: n,
        scoresAt: scoresAt + from * C * scores.size,
        targetsAt: place.at + from * targets.size,
      });
    }
    start += rows;
  }
  return { segments, scores, targets, scoresPath: path, targetsPath: external?.path ?? path };
}

/**
 * Where a batch's targets lie: its target column's buffer (`bytes`: the buffer's length, for a
 * compressed batch), or the rows from `start` of a targets file (stored as is).
 */
function targetPlace(
  external: ExternalTargets | null,
  targets: NpyDtype,
  buffer: { offset: number; length: number } | undefined,
  body: number,
  start: number,
): { at: number; bytes: number | undefined } {
  if (external) return { at: external.at + start * targets.size, bytes: undefined };
  return { at: body + buffer!.offset, bytes: buffer!.length };
}

/**
 * Where an LZ4 batch's class columns lie when every one holds its values as they are (storedBufferAt:
 * LZ4 stores incompressible blocks, float scores' usually), in blocks of one size: the columns are
 * then read in place like an uncompressed batch's (parallel/spill.ts), not decoded. Null otherwise.
 * A read of 4 bytes per block (~13,000 for the 800 MB bench, ~55 ms here; a buffer's header and the
 * previous buffer's end mark share one).
 */
function storedColumns(
  fd: number,
  columnsAt: readonly number[],
  columnsBytes: readonly number[],
  rows: number,
  size: number,
): StoredColumns | null {
  // A buffer's header (length, frame header, first block's size) in one read: reads cost ~3 µs
  // each here, and a block's size word is one of its own.
  const window = new Uint8Array(64);
  let windowAt = -1;
  let windowHas = 0;
  const read = (into: Uint8Array, at: number) => {
    if (at < windowAt || at + into.length > windowAt + windowHas) {
      windowAt = at;
      windowHas = readSync(fd, window, 0, window.length, at);
      if (windowHas < into.length) throw new Error("short read");
    }
    into.set(window.subarray(at - windowAt, at - windowAt + into.length));
  };
  let blockBytes = 0;
  const blocks: number[][] = [];
  try {
    for (let j = 0; j < columnsAt.length; j++) {
      const frame = storedBufferAt(read, columnsAt[j]!, columnsBytes[j]!, rows * size);
      if (!frame) return null;
      if (frame.at.length > 1) {
        if (blockBytes === 0) blockBytes = frame.blockBytes;
        if (frame.blockBytes !== blockBytes || blockBytes % size !== 0) return null;
      }
      blocks.push(frame.at);
    }
  } catch {
    return null;
  }
  return { blockRows: blockBytes === 0 ? rows : blockBytes / size, blocks };
}

/**
 * One float column per class, no nulls: each segment (chunkRows rows of an uncompressed batch, or
 * a compressed batch whole) carries where every class column's values lie.
 */
async function columnsPlan(
  path: string,
  handle: FileHandle,
  blocks: readonly Block[],
  places: readonly { node: number; buffer: number }[],
  t: { node: number; buffer: number } | null,
  external: ExternalTargets | null,
  scores: NpyDtype,
  targets: NpyDtype,
  chunkRows: number,
): Promise<DirectPlan | null> {
  const segments: Segment[] = [];
  let start = 0;
  for (const block of blocks) {
    const header = await batchHeader(handle, block);
    if (!header) return null;
    const rows = header.length;
    const { nodes, buffers } = header;
    if (t && nodes[t.node]!.nullCount > 0) return null;
    const body = block.offset + block.metaDataLength;
    const place = targetPlace(external, targets, t ? buffers[t.buffer + 1] : undefined, body, start);
    if (header.codec) {
      // Compressed class columns: one segment a batch, each column a buffer of its own. How the
      // workers decode it (a stream per column, whole, or first into a temporary file) is the
      // plan's choice (parallel/plan.ts), by the batch's size.
      const codec = header.codec;
      if (codec === "other") return null;
      if (places.some((place) => nodes[place.node]!.nullCount > 0)) return null;
      const columnsAt = places.map((place) => body + buffers[place.buffer + 1]!.offset);
      const columnsBytes = places.map((place) => buffers[place.buffer + 1]!.length);
      const stored =
        codec === "lz4" && rows > 0
          ? storedColumns(handle.fd, columnsAt, columnsBytes, rows, scores.size)
          : null;
      segments.push({
        start,
        rows,
        scoresAt: -1,
        targetsAt: place.at,
        codec,
        targetsBytes: place.bytes,
        columnsAt,
        columnsBytes,
        ...(stored ? { stored } : {}),
      });
      start += rows;
      continue;
    }
    const columns: number[] = [];
    for (const place of places) {
      const values = buffers[place.buffer + 1]!;
      if (nodes[place.node]!.nullCount > 0 || values.length < rows * scores.size) return null;
      columns.push(body + values.offset);
    }
    if (t && buffers[t.buffer + 1]!.length < rows * targets.size) return null;
    const step = columnSegmentRows(chunkRows, places.length, scores.size, rows);
    for (let from = 0; from < rows; from += step) {
      segments.push({
        start: start + from,
        rows: Math.min(step, rows - from),
        scoresAt: -1,
        targetsAt: place.at + from * targets.size,
        columnsAt: columns.map((c) => c + from * scores.size),
      });
    }
    start += rows;
  }
  return { segments, scores, targets, scoresPath: path, targetsPath: external?.path ?? path };
}
