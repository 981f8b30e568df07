import type { FileHandle } from "node:fs/promises";
import { DataType, DateUnit, type Field, Type } from "apache-arrow";
import { XentError } from "../../errors.js";
import { FlatTable } from "./flatbuffer.js";

/** A record batch's metadata, read and bounds-checked from the file (not trusted from apache-arrow). */
export interface BatchMeta {
  offset: number;
  metaDataLength: number;
  bodyLength: number;
  length: number;
  nodes: { length: number; nullCount: number }[];
  buffers: { offset: number; length: number }[];
  variadic: number[];
  /** The batch's compression codec, null for none. */
  codec: "lz4" | "zstd" | null;
}

const MESSAGE_RECORD_BATCH = 3;
const MESSAGE_DICTIONARY_BATCH = 2;
const MESSAGE_SCHEMA = 1;
/** Nested fields deeper than this are no model output; the limit also stops a self-referencing schema. */
const MAX_DEPTH = 32;
const MAX_FIELDS = 1 << 20;

async function readAt(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return bytes.subarray(0, done);
}

/**
 * Checks an Arrow IPC file's structure before apache-arrow reads any of it: the footer and its
 * schema (every vector bounded by its bytes, nesting bounded), every block inside the file and
 * apart from the others, every message at its block with the body length the block states, every
 * buffer inside its body, node counts and null counts sane, and the footer's record batches the
 * very messages a front-to-back walk of the file finds (a footer that skips or repeats a batch
 * would change the number silently). Returns the record batches' metadata for checkBatches.
 */
export async function checkArrowFile(handle: FileHandle, size: number, name: string): Promise<BatchMeta[]> {
  const fail = (why: string) => new XentError("format", `corrupt Arrow file: ${why}`, { file: name });
  const tail = await readAt(handle, size - 10, 10);
  const footerLength = new DataView(tail.buffer, tail.byteOffset, 10).getInt32(0, true);
  const footerStart = size - 10 - footerLength;
  if (footerStart < 8) throw fail("the footer length points before the start");
  const footer = FlatTable.root(await readAt(handle, footerStart, footerLength), fail);
  const schema = footer.table(1);
  if (!schema) throw fail("the footer has no schema");
  checkSchema(schema, fail);
  checkMetadata(footer, 4);

  const blocks = (slot: number) => {
    const vector = footer.vector(slot, 24);
    return Array.from({ length: vector?.length ?? 0 }, (_, k) => {
      const at = vector!.start + 24 * k;
      const view = new DataView(footer.bytes.buffer, footer.bytes.byteOffset + at, 24);
      return {
        offset: footer.int64At(at),
        metaDataLength: view.getInt32(8, true),
        bodyLength: footer.int64At(at + 16),
      };
    });
  };
  const dictionaries = blocks(2);
  const batches = blocks(3);
  const all = [...dictionaries, ...batches].sort((a, b) => a.offset - b.offset);
  let end = 8;
  for (const b of all) {
    if (!(b.offset >= end && b.metaDataLength > 0 && b.bodyLength >= 0))
      throw fail(`a footer block at byte ${b.offset} overlaps another or lies before the data`);
    end = b.offset + b.metaDataLength + b.bodyLength;
    if (end > footerStart) throw fail(`a footer block at byte ${b.offset} reaches past the footer`);
  }

  // Front to back: every message between the magic and the footer, checked once, each step
  // making progress. The footer's blocks must then be those very messages: a footer that skips,
  // repeats or misplaces a batch would change the number silently.
  const walked = new Map<number, WalkedMessage>();
  await walkMessages(handle, 8, footerStart, fail, (pos, message) => walked.set(pos, message));
  const metas: BatchMeta[] = [];
  for (const [list, kind] of [
    [dictionaries, MESSAGE_DICTIONARY_BATCH],
    [batches, MESSAGE_RECORD_BATCH],
  ] as const) {
    for (const b of list) {
      const m = walked.get(b.offset);
      if (m?.type !== kind)
        throw fail(
          `the footer block at byte ${b.offset} is not a ${kind === 2 ? "dictionary" : "record"} batch of the file`,
        );
      if (m.bodyLength !== b.bodyLength)
        throw fail(
          `the batch at byte ${b.offset} states a body of ${m.bodyLength} bytes, its footer block ${b.bodyLength}`,
        );
      if (m.metaDataLength > b.metaDataLength)
        throw fail(
          `the message at byte ${b.offset} has ${m.metaDataLength} bytes of metadata, its footer block ${b.metaDataLength}`,
        );
      if (m.batch) metas.push(m.batch);
    }
  }
  const found = [...walked].flatMap(([pos, m]) => (m.type === MESSAGE_RECORD_BATCH ? [pos] : []));
  const indexed = batches.map((b) => b.offset);
  if (found.length !== indexed.length || found.some((offset, k) => offset !== indexed[k])) {
    throw fail(
      `the footer lists ${indexed.length} record batches but the file holds ${found.length}, or at other places`,
    );
  }
  return metas;
}

function checkMetadata(table: FlatTable, slot: number): void {
  const vector = table.vector(slot, 4);
  for (let k = 0; k < (vector?.length ?? 0); k++) {
    const kv = table.tableAt(vector!, k);
    kv.checkString(0);
    kv.checkString(1);
  }
}

/** A schema table: every field, child and metadata entry within its bytes; nesting and count bounded. */
function checkSchema(schema: FlatTable, fail: (why: string) => XentError): void {
  let fields = 0;
  const checkFields = (table: FlatTable, slot: number, depth: number) => {
    const vector = table.vector(slot, 4);
    if (!vector) return;
    if (depth > MAX_DEPTH) throw fail("fields nested too deep");
    for (let k = 0; k < vector.length; k++) {
      if (++fields > MAX_FIELDS) throw fail("too many fields");
      const field = table.tableAt(vector, k);
      field.checkString(0);
      field.table(3);
      field.table(4)?.table(1);
      checkFields(field, 5, depth + 1);
      checkMetadata(field, 6);
    }
  };
  checkFields(schema, 1, 0);
  checkMetadata(schema, 2);
}

/** A message body larger than this cannot be one apache-arrow reads (its buffers are below 2 GiB). */
const MAX_BODY = 2 ** 31 - 1;

/**
 * Walks the messages in [start, end) front to back, each checked (metadata within its length,
 * body within the range) and handed to `visit`; every step moves forward or fails.
 */
async function walkMessages(
  handle: FileHandle,
  start: number,
  end: number,
  fail: (why: string) => XentError,
  visit: (pos: number, message: WalkedMessage) => void,
): Promise<void> {
  let pos = start;
  while (pos < end) {
    const head = await readAt(handle, pos, 8);
    if (head.length < 4) throw fail(`the data ends inside a message at byte ${pos}`);
    const view = new DataView(head.buffer, head.byteOffset, head.length);
    const marker = head.length >= 8 && view.getUint32(0, true) === 0xffffffff;
    const length = marker ? view.getInt32(4, true) : view.getInt32(0, true);
    if (length === 0) return; // end-of-stream marker
    const prefix = marker ? 8 : 4;
    if (length < 0 || pos + prefix + length > end)
      throw fail(`a message at byte ${pos} reaches past the end`);
    const message = checkedMessage(await readAt(handle, pos, prefix + length), prefix + length, pos, fail);
    visit(pos, message);
    pos += prefix + length + message.bodyLength;
    if (pos > end) throw fail(`a message body before byte ${pos} reaches past the end`);
  }
}

/**
 * An Arrow stream file (read from a path): every message checked front to back before apache-arrow
 * reads any, as checkArrowFile does for the file format. Returns the record batches' metadata.
 */
export async function checkArrowStreamFile(
  handle: FileHandle,
  size: number,
  name: string,
): Promise<BatchMeta[]> {
  const fail = (why: string) => new XentError("format", `corrupt Arrow stream: ${why}`, { file: name });
  const metas: BatchMeta[] = [];
  await walkMessages(handle, 0, size, fail, (_, message) => {
    if (message.batch) metas.push(message.batch);
  });
  return metas;
}

/**
 * One message of a walk or a stream, checked: its metadata (readMessage), a known type, a bounded
 * schema, a body below MAX_BODY, and a record or dictionary batch's buffers inside that body.
 * Returns the record batch's metadata (null for other messages).
 */
function checkedMessage(
  bytes: Uint8Array,
  metaDataLength: number,
  pos: number,
  fail: (why: string) => XentError,
): WalkedMessage {
  const message = readMessage(bytes, metaDataLength, fail, `at byte ${pos}`);
  if (![MESSAGE_SCHEMA, MESSAGE_DICTIONARY_BATCH, MESSAGE_RECORD_BATCH].includes(message.type))
    throw fail(`the message at byte ${pos} is of an unknown type`);
  if (message.type === MESSAGE_SCHEMA) checkSchema(message.table, fail);
  if (message.bodyLength > MAX_BODY)
    throw fail(`the message at byte ${pos} claims a body of ${message.bodyLength} bytes`);
  const block = { offset: pos, metaDataLength, bodyLength: message.bodyLength };
  if (message.type === MESSAGE_DICTIONARY_BATCH) {
    const data = message.table.table(1);
    if (!data) throw fail(`the dictionary batch at byte ${pos} has no data`);
    batchMeta(data, block, fail);
  }
  const batch = message.type === MESSAGE_RECORD_BATCH ? batchMeta(message.table, block, fail) : null;
  return { type: message.type, metaDataLength, bodyLength: message.bodyLength, batch };
}

/** A message as a walk checked it: its type, lengths, and a record batch's metadata. */
interface WalkedMessage {
  type: number;
  metaDataLength: number;
  bodyLength: number;
  batch: BatchMeta | null;
}

function readMessage(
  bytes: Uint8Array,
  blockLength: number,
  fail: (why: string) => XentError,
  where: string,
) {
  if (bytes.length < 8) throw fail(`a message ${where} is cut short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const marker = view.getUint32(0, true) === 0xffffffff;
  const prefix = marker ? 8 : 4;
  const length = view.getInt32(marker ? 4 : 0, true);
  if (!(length > 0 && prefix + length <= blockLength && prefix + length <= bytes.length))
    throw fail(`the message ${where} has a metadata length of ${length}, outside its block`);
  const message = FlatTable.root(bytes.subarray(prefix, prefix + length), fail);
  const type = message.u8(1);
  const table = message.table(2);
  const bodyLength = message.i64(3);
  if (!table || bodyLength < 0) throw fail(`the message ${where} has no header or a negative body length`);
  return { type, table, bodyLength };
}

function batchMeta(
  batch: FlatTable,
  block: { offset: number; metaDataLength: number; bodyLength: number },
  fail: (why: string) => XentError,
): BatchMeta {
  const where = `the record batch at byte ${block.offset}`;
  const length = batch.i64(0);
  const nodesVector = batch.vector(1, 16);
  const buffersVector = batch.vector(2, 16);
  const nodes = Array.from({ length: nodesVector?.length ?? 0 }, (_, k) => ({
    length: batch.int64At(nodesVector!.start + 16 * k),
    nullCount: batch.int64At(nodesVector!.start + 16 * k + 8),
  }));
  const buffers = Array.from({ length: buffersVector?.length ?? 0 }, (_, k) => ({
    offset: batch.int64At(buffersVector!.start + 16 * k),
    length: batch.int64At(buffersVector!.start + 16 * k + 8),
  }));
  if (length < 0) throw fail(`${where} has a negative length`);
  for (const n of nodes)
    if (!(n.length >= 0 && n.nullCount >= 0 && n.nullCount <= n.length))
      throw fail(`${where} has a bad field node`);
  for (const b of buffers) {
    if (!(b.offset >= 0 && b.length >= 0 && b.offset + b.length <= block.bodyLength))
      throw fail(`${where} has a buffer outside its body`);
  }
  const compression = batch.table(3);
  if (compression && compression.u8(0) > 1) throw fail(`${where} names an unknown compression codec`);
  const variadicVector = batch.vector(4, 8);
  const variadic = Array.from({ length: variadicVector?.length ?? 0 }, (_, k) =>
    batch.int64At(variadicVector!.start + 8 * k),
  );
  const codec = compression === null ? null : compression.u8(0) === 0 ? "lz4" : "zstd";
  return { ...block, length, nodes, buffers, variadic, codec };
}

/** Bytes per value of a fixed-width type, "bits" for a bitmap, or null for a type with other buffers. */
function valueWidth(type: DataType): number | "bits" | null {
  if (DataType.isBool(type)) return "bits";
  if (DataType.isInt(type) || DataType.isTime(type) || DataType.isDecimal(type)) return type.bitWidth / 8;
  if (DataType.isFloat(type)) return [2, 4, 8][type.precision] ?? null;
  if (DataType.isDate(type)) return type.unit === DateUnit.DAY ? 4 : 8;
  if (DataType.isTimestamp(type) || DataType.isDuration(type)) return 8;
  if (DataType.isInterval(type)) return [4, 8, 16][type.unit] ?? null;
  if (DataType.isFixedSizeBinary(type)) return type.byteWidth;
  if (DataType.isDictionary(type)) return type.indices.bitWidth / 8;
  return null;
}

/**
 * Checks every record batch against the schema: one field node per field (children included)
 * with the batch's row count at the top level and n × size under a fixed-size list, and, for
 * uncompressed batches, every buffer as long as its rows need (values, validity when there are
 * nulls, offsets). A values buffer of length 0 under 48 rows read as zeros before this.
 */
export function checkBatches(metas: readonly BatchMeta[], fields: readonly Field[], name: string): void {
  for (const meta of metas) {
    const fail = (why: string) =>
      new XentError("format", `corrupt Arrow file: the record batch at byte ${meta.offset} ${why}`, {
        file: name,
      });
    let node = 0;
    let buffer = 0;
    let variadic = 0;
    const nextBuffer = (needed: number, what: string) => {
      const b = meta.buffers[buffer++];
      if (!b) throw fail("has fewer buffers than its columns need");
      if (meta.codec === null && b.length < needed)
        throw fail(`has a ${what} buffer of ${b.length} bytes where ${needed} are needed`);
    };
    const visit = (field: Field, rows: number | null, depth: number) => {
      const n = meta.nodes[node++];
      if (!n) throw fail("has fewer field nodes than its columns");
      if (rows !== null && n.length !== rows)
        throw fail(`holds ${n.length} values in column '${field.name}' where ${rows} are expected`);
      const type = field.type;
      if (type.typeId === Type.Null) return;
      nextBuffer(n.nullCount > 0 ? Math.ceil(n.length / 8) : 0, "validity");
      const width = valueWidth(type);
      if (width !== null) {
        nextBuffer(width === "bits" ? Math.ceil(n.length / 8) : n.length * width, "values");
        return;
      }
      if (depth > MAX_DEPTH) throw fail("nests too deep");
      if (DataType.isUtf8(type) || DataType.isBinary(type)) {
        nextBuffer((n.length + 1) * 4, "offsets");
        nextBuffer(0, "data");
      } else if (DataType.isLargeUtf8(type) || DataType.isLargeBinary(type)) {
        nextBuffer((n.length + 1) * 8, "offsets");
        nextBuffer(0, "data");
      } else if (DataType.isUtf8View(type) || DataType.isBinaryView(type)) {
        nextBuffer(n.length * 16, "views");
        const count = meta.variadic[variadic++] ?? 0;
        for (let k = 0; k < count; k++) nextBuffer(0, "data");
      } else if (DataType.isList(type) || DataType.isMap(type) || DataType.isLargeList(type)) {
        nextBuffer((n.length + 1) * (DataType.isLargeList(type) ? 8 : 4), "offsets");
        visit(type.children[0]!, null, depth + 1);
      } else if (DataType.isFixedSizeList(type)) {
        visit(type.children[0]!, n.length * type.listSize, depth + 1);
      } else if (DataType.isStruct(type)) {
        for (const child of type.children) visit(child, n.length, depth + 1);
      } else {
        throw new XentError("format", `column '${field.name}' has type ${type}, which xent does not read`, {
          file: name,
        });
      }
    };
    for (const field of fields) visit(field, meta.length, 0);
    if (node !== meta.nodes.length || buffer !== meta.buffers.length)
      throw fail("has more field nodes or buffers than its columns");
  }
}

/**
 * An Arrow stream read once (standard input, a pipe), checked as it passes: each message's
 * metadata is read and checked (as walkMessages does) before any of its bytes go on to
 * apache-arrow, bodies pass through counted, and every record batch's metadata goes to `onBatch`
 * for checkBatches once the schema is known.
 */
export async function* checkedArrowStream(
  chunks: AsyncIterable<Uint8Array>,
  name: string,
  onBatch: (meta: BatchMeta) => void,
): AsyncGenerator<Uint8Array> {
  const fail = (why: string) => new XentError("format", `corrupt Arrow stream: ${why}`, { file: name });
  let pending: Uint8Array = new Uint8Array(0);
  let pos = 0;
  let body = 0;
  let ended = false;
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (ended || body > 0) {
        const n = ended ? pending.length : Math.min(body, pending.length);
        if (n === 0) break;
        yield pending.subarray(0, n);
        pending = pending.subarray(n);
        pos += n;
        if (!ended) body -= n;
        continue;
      }
      if (pending.length < 8) break;
      const view = new DataView(pending.buffer, pending.byteOffset, pending.length);
      const marker = view.getUint32(0, true) === 0xffffffff;
      const length = view.getInt32(marker ? 4 : 0, true);
      const prefix = marker ? 8 : 4;
      if (length === 0) {
        ended = true;
        continue;
      }
      if (length < 0 || length > MAX_BODY)
        throw fail(`the message at byte ${pos} has a metadata length of ${length}`);
      if (pending.length < prefix + length) break;
      const message = checkedMessage(pending.subarray(0, prefix + length), prefix + length, pos, fail);
      if (message.batch) onBatch(message.batch);
      yield pending.subarray(0, prefix + length);
      pending = pending.subarray(prefix + length);
      pos += prefix + length;
      body = message.bodyLength;
    }
  }
  if (body > 0 || (pending.length > 0 && !ended))
    throw fail(`the stream ends inside a message at byte ${pos}`);
}
