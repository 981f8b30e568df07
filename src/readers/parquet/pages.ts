import type { FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { deltaBinaryUnpack } from "hyparquet/src/delta.js";
import { XentError } from "../../errors.js";
import { decompress } from "./codecs.js";
import { bitWidth, readHybrid } from "./levels.js";
import type { ColumnChunk, ParquetField } from "./metadata.js";
import { countValues, decodeStruct, Struct } from "./thrift.js";

/**
 * The pages of one column chunk, read from the file one at a time (a page is ~1 MB as
 * writers cut them, so memory stays at a page per column whatever the row group's size) and
 * decoded to levels and values. Every header field is checked before it sizes a read or an
 * allocation.
 */

/**
 * Fixed-width values left as the page's bytes (little-endian, possibly unaligned): the run's
 * output array takes them with one byte copy, where a typed array would need an aligned copy first.
 */
export class RawValues {
  constructor(
    readonly bytes: Uint8Array,
    readonly width: number,
    /** A typed array of the values' kind, for the run's output. */
    readonly make: (n: number) => Exclude<PageValues, string[] | RawValues>,
  ) {}
  get length(): number {
    return this.bytes.length / this.width;
  }
}

/** Non-null values of a page, in order. */
export type PageValues =
  | RawValues
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  /** booleans, 0 or 1 */
  | Uint8Array
  | string[];

export interface Page {
  /** Level entries: values, nulls and (lists) empty lists. */
  count: number;
  reps: Uint8Array | null;
  defs: Uint8Array | null;
  /** Entries whose definition level is the maximum (count when there are no levels). */
  defined: number;
  values: PageValues;
}

/**
 * Pages larger than this are refused: a corrupted size must not become an allocation (writers cut
 * pages at ~1 MB; a page holds at least one row, and a 131,072-class float32 row is 512 KiB).
 */
const MAX_PAGE_BYTES = 2 ** 28;
/** Level entries in one page (writers cut pages at ~1 MB or 20,000 rows). */
const MAX_PAGE_VALUES = 2 ** 24;
/** What is read at once for a page header; headers with large statistics are read again, bigger. */
const HEADER_READ = 64 * 1024;
/**
 * Bytes of a column chunk read at once: several pages per read instead of two reads (header,
 * body) per page. A list column's 1 MB pages: 4 per read.
 */
const WINDOW = 4 * 2 ** 20;
const MAX_HEADER = 16 * 2 ** 20;
/** Values in a page header (its fields and statistics: some 20). */
const MAX_HEADER_VALUES = 10_000;

const PAGE_TYPES = ["DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE", "DATA_PAGE_V2"] as const;
const ENCODINGS: Record<number, string> = {
  0: "PLAIN",
  2: "PLAIN_DICTIONARY",
  3: "RLE",
  4: "BIT_PACKED",
  5: "DELTA_BINARY_PACKED",
  6: "DELTA_LENGTH_BYTE_ARRAY",
  7: "DELTA_BYTE_ARRAY",
  8: "RLE_DICTIONARY",
  9: "BYTE_STREAM_SPLIT",
};

export class ChunkPages {
  private at: number;
  private dictionary: Exclude<PageValues, RawValues> | null = null;
  /** Level entries read so far, against the chunk's num_values. */
  private seen = 0;
  private readonly decoder = new TextDecoder();
  /** Bytes of the chunk read ahead, from `windowAt`. */
  private window: Uint8Array | null = null;
  private windowAt = 0;
  private spare: Uint8Array | null = null;

  constructor(
    private readonly handle: FileHandle,
    private readonly file: string,
    private readonly field: ParquetField,
    private readonly chunk: ColumnChunk,
    private readonly where: string,
    /**
     * Reuse the read-ahead buffer from window to window: only when a page never points into it
     * (compressed pages decode to arrays of their own) and the reader is done with a run before
     * the next (ColumnCursor's recycle).
     */
    private readonly recycle = false,
  ) {
    this.at = chunk.start;
  }

  fail(what: string): never {
    throw new XentError("format", `corrupt Parquet data: ${what} (${this.where})`, { file: this.file });
  }

  /** Bytes [at, at + length) of the chunk, from the window read ahead or a new one. */
  private async read(at: number, length: number): Promise<Uint8Array> {
    const w = this.window;
    if (w !== null && at >= this.windowAt && at + length <= this.windowAt + w.length)
      return w.subarray(at - this.windowAt, at - this.windowAt + length);
    const size = Math.max(length, Math.min(WINDOW, this.chunk.end - at));
    const reuse = this.recycle && this.chunk.codec !== "UNCOMPRESSED" && this.spare !== null;
    const bytes = reuse && this.spare!.length >= size ? this.spare!.subarray(0, size) : new Uint8Array(size);
    if (
      this.recycle &&
      this.chunk.codec !== "UNCOMPRESSED" &&
      (this.spare === null || bytes.length > this.spare.length)
    )
      this.spare = bytes;
    const { bytesRead } = await this.handle.read(bytes, 0, size, at);
    if (bytesRead !== size) this.fail(`${size} bytes at ${at}, the file has ${bytesRead}`);
    this.window = bytes;
    this.windowAt = at;
    return bytes.subarray(0, length);
  }

  /** The next data page, or null after the chunk's last. */
  async next(): Promise<Page | null> {
    for (;;) {
      if (this.at >= this.chunk.end) {
        if (this.seen !== this.chunk.values)
          this.fail(`the pages hold ${this.seen} values, the column chunk ${this.chunk.values}`);
        return null;
      }
      const { header, bytes, bodyAt } = await this.header();
      const type = PAGE_TYPES[header.int(1, "type", 0, 3)]!;
      const size = header.int(2, "uncompressed_page_size", 0, MAX_PAGE_BYTES);
      const stored = header.int(3, "compressed_page_size", 0, this.chunk.end - bodyAt);
      const body =
        bodyAt - this.at + stored <= bytes.length
          ? bytes.subarray(bodyAt - this.at, bodyAt - this.at + stored)
          : await this.read(bodyAt, stored);
      this.at = bodyAt + stored;
      // A window read to its end is let go (one column of many holds no compressed copy).
      if (this.window !== null && this.at >= this.windowAt + this.window.length) this.window = null;
      const crc = header.int(4, "crc", -(2 ** 31), 2 ** 31 - 1, null);
      if (crc !== null && crc32(body) !== crc >>> 0) this.fail("a page fails its CRC-32 check");
      if (type === "INDEX_PAGE") continue;
      if (type === "DICTIONARY_PAGE") {
        const h = header.struct(7, "dictionary_page_header");
        const n = h.int(1, "num_values", 0, MAX_PAGE_VALUES);
        const encoding = h.int(2, "encoding", 0, 9);
        if (encoding !== 0 && encoding !== 2) this.fail(`a dictionary page in ${ENCODINGS[encoding]}`);
        this.dictionary = this.plain(this.inflate(body, size), 0, n) as Exclude<PageValues, RawValues>;
        continue;
      }
      return type === "DATA_PAGE" ? this.dataPage(header, body, size) : this.dataPageV2(header, body, size);
    }
  }

  private async header(): Promise<{ header: Struct; bytes: Uint8Array; bodyAt: number }> {
    let length = Math.min(HEADER_READ, this.chunk.end - this.at);
    for (;;) {
      const bytes = await this.read(this.at, length);
      try {
        countValues(bytes, 0, MAX_HEADER_VALUES);
        const { raw, end } = decodeStruct(bytes, 0);
        return { header: new Struct(raw, this.where, this.file), bytes, bodyAt: this.at + end };
      } catch (e) {
        if (!(e instanceof RangeError) && !(e instanceof Error && /ended without STOP/.test(e.message)))
          this.fail(`page header: ${(e as Error).message}`);
        const left = this.chunk.end - this.at;
        if (length >= left || length >= MAX_HEADER) this.fail("a page header runs past its column chunk");
        length = Math.min(left, length * 4, MAX_HEADER);
      }
    }
  }

  private inflate(body: Uint8Array, size: number): Uint8Array {
    try {
      return decompress(this.chunk.codec, body, size);
    } catch (e) {
      this.fail(`${this.chunk.codec.toLowerCase()} page: ${(e as Error).message}`);
    }
  }

  private count(h: Struct): number {
    const n = h.int(1, "num_values", 0, MAX_PAGE_VALUES);
    if (this.seen + n > this.chunk.values)
      this.fail(`the pages hold more than the column chunk's ${this.chunk.values} values`);
    this.seen += n;
    return n;
  }

  private levels(bytes: Uint8Array, start: number, end: number, max: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    try {
      readHybrid(bytes, start, end, bitWidth(max), out, n);
    } catch (e) {
      this.fail(`levels: ${(e as Error).message}`);
    }
    // The decoder bounds values by the bit width; a tighter maximum needs a look of its own.
    if (max !== 2 ** bitWidth(max) - 1)
      for (let i = 0; i < n; i++) if (out[i]! > max) this.fail(`level ${out[i]} above the maximum ${max}`);
    return out;
  }

  /** Levels with their v1 length prefix. */
  private prefixed(bytes: Uint8Array, at: number, max: number, n: number): [Uint8Array, number] {
    if (at + 4 > bytes.length) this.fail("levels past the page");
    const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true);
    if (at + 4 + length > bytes.length) this.fail("levels past the page");
    return [this.levels(bytes, at + 4, at + 4 + length, max, n), at + 4 + length];
  }

  private defined(defs: Uint8Array | null, n: number): number {
    if (defs === null) return n;
    const max = this.field.maxDef;
    let k = 0;
    for (let i = 0; i < n; i++) if (defs[i] === max) k++;
    return k;
  }

  private dataPage(header: Struct, body: Uint8Array, size: number): Page {
    const h = header.struct(5, "data_page_header");
    const n = this.count(h);
    const encoding = h.int(2, "encoding", 0, 9);
    const f = this.field;
    for (const [id, name, max] of [
      [3, "definition", f.maxDef],
      [4, "repetition", f.maxRep],
    ] as const) {
      const e = h.int(id, `${name}_level_encoding`, 0, 9, 3);
      if (max > 0 && e !== 3) this.fail(`${name} levels in ${ENCODINGS[e ?? 3]}, which xent does not read`);
    }
    const page = this.inflate(body, size);
    let at = 0;
    let reps: Uint8Array | null = null;
    let defs: Uint8Array | null = null;
    if (f.maxRep > 0) [reps, at] = this.prefixed(page, at, f.maxRep, n);
    if (f.maxDef > 0) [defs, at] = this.prefixed(page, at, f.maxDef, n);
    const defined = this.defined(defs, n);
    return { count: n, reps, defs, defined, values: this.values(encoding, page, at, defined) };
  }

  private dataPageV2(header: Struct, body: Uint8Array, size: number): Page {
    const h = header.struct(8, "data_page_header_v2");
    const n = this.count(h);
    const encoding = h.int(4, "encoding", 0, 9);
    const defLength = h.int(5, "definition_levels_byte_length", 0, body.length);
    const repLength = h.int(6, "repetition_levels_byte_length", 0, body.length - defLength);
    if (size < defLength + repLength) this.fail("levels longer than the page");
    const f = this.field;
    const reps = f.maxRep > 0 ? this.levels(body, 0, repLength, f.maxRep, n) : null;
    const defs = f.maxDef > 0 ? this.levels(body, repLength, repLength + defLength, f.maxDef, n) : null;
    const rest = body.subarray(repLength + defLength);
    const compressed = h.bool(7, true);
    const page = compressed
      ? this.inflate(rest, size - repLength - defLength)
      : rest.length === size - repLength - defLength
        ? rest
        : this.fail("an uncompressed page of the wrong size");
    const defined = this.defined(defs, n);
    return { count: n, reps, defs, defined, values: this.values(encoding, page, 0, defined) };
  }

  private values(encoding: number, page: Uint8Array, at: number, n: number): PageValues {
    const f = this.field;
    switch (encoding) {
      case 0:
        return this.plain(page, at, n, true);
      case 2:
      case 8:
        return this.fromDictionary(page, at, n);
      case 3: {
        if (f.physical !== "BOOLEAN") break;
        const out = new Uint8Array(n);
        const end = at + 4;
        if (end > page.length) this.fail("boolean run lengths past the page");
        const length = new DataView(page.buffer, page.byteOffset + at, 4).getUint32(0, true);
        if (end + length > page.length) this.fail("boolean runs past the page");
        try {
          readHybrid(page, end, end + length, 1, out, n);
        } catch (e) {
          this.fail(`booleans: ${(e as Error).message}`);
        }
        return out;
      }
      case 5: {
        if (f.physical !== "INT32" && f.physical !== "INT64") break;
        const out = f.physical === "INT32" ? new Int32Array(n) : new BigInt64Array(n);
        try {
          const reader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: at };
          deltaBinaryUnpack(reader, n, out);
          if (reader.offset > page.byteLength) throw new Error("past the page");
        } catch (e) {
          this.fail(`delta-encoded integers: ${(e as Error).message}`);
        }
        return this.signed(out);
      }
      case 9:
        return this.streamSplit(page, at, n);
      default:
        break;
    }
    this.fail(
      `${f.type} values in ${ENCODINGS[encoding] ?? `encoding ${encoding}`}, which xent does not read`,
    );
  }

  /** Unsigned logical types read the same bits as unsigned arrays. */
  private signed(values: Int32Array | BigInt64Array): PageValues {
    if (this.field.kind === "uint32") return new Uint32Array(values.buffer, values.byteOffset, values.length);
    if (this.field.kind === "uint64")
      return new BigUint64Array(values.buffer, values.byteOffset, values.length);
    return values;
  }

  private width(): number {
    switch (this.field.physical) {
      case "INT32":
      case "FLOAT":
        return 4;
      case "INT64":
      case "DOUBLE":
        return 8;
      case "FIXED_LEN_BYTE_ARRAY":
        return this.field.typeLength;
      default:
        return 0;
    }
  }

  /** `n` fixed-width values, as typed arrays of the field's kind, or raw (`raw`: data pages). */
  private fixed(bytes: Uint8Array, n: number, raw = false): PageValues {
    if (raw) {
      const like = this.fixed(new Uint8Array(0), 0) as Exclude<PageValues, string[] | RawValues>;
      const make = like.constructor as new (n: number) => Exclude<PageValues, string[] | RawValues>;
      return new RawValues(bytes, this.width(), (k) => new make(k));
    }
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    switch (this.field.physical) {
      case "FLOAT":
        return new Float32Array(buffer);
      case "DOUBLE":
        return new Float64Array(buffer);
      case "INT32":
        return this.signed(new Int32Array(buffer));
      case "INT64":
        return this.signed(new BigInt64Array(buffer));
      case "FIXED_LEN_BYTE_ARRAY":
        if (this.field.kind === "float16") return new Uint16Array(buffer);
        break;
      default:
        break;
    }
    this.fail(`${n} values of type ${this.field.type}, which xent does not read`);
  }

  private plain(page: Uint8Array, at: number, n: number, raw = false): PageValues {
    const f = this.field;
    if (f.physical === "BOOLEAN") {
      if (at + Math.ceil(n / 8) > page.length) this.fail(`${n} booleans past the page`);
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = (page[at + (i >> 3)]! >> (i & 7)) & 1;
      return out;
    }
    if (f.physical === "BYTE_ARRAY") {
      if (f.kind !== "string") this.fail(`values of type ${f.type}, which xent does not read`);
      const out: string[] = new Array(n);
      const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
      for (let i = 0; i < n; i++) {
        if (at + 4 > page.length) this.fail(`string ${i} of ${n} past the page`);
        const length = view.getUint32(at, true);
        if (at + 4 + length > page.length) this.fail(`string ${i} of ${n} past the page`);
        out[i] = this.decoder.decode(page.subarray(at + 4, at + 4 + length));
        at += 4 + length;
      }
      return out;
    }
    const w = this.width();
    if (w === 0 || (f.physical === "FIXED_LEN_BYTE_ARRAY" && f.kind !== "float16"))
      this.fail(`values of type ${f.type}, which xent does not read`);
    if (at + n * w > page.length) this.fail(`${n} values of ${w} bytes past the page`);
    return this.fixed(page.subarray(at, at + n * w), n, raw);
  }

  private streamSplit(page: Uint8Array, at: number, n: number): PageValues {
    const w = this.width();
    if (w === 0) this.fail(`${this.field.type} values in BYTE_STREAM_SPLIT`);
    if (at + n * w > page.length) this.fail(`${n} values of ${w} bytes past the page`);
    const out = new Uint8Array(n * w);
    for (let k = 0; k < w; k++) {
      const stream = at + k * n;
      for (let i = 0; i < n; i++) out[i * w + k] = page[stream + i]!;
    }
    return this.fixed(out, n);
  }

  private fromDictionary(page: Uint8Array, at: number, n: number): PageValues {
    const dict = this.dictionary;
    if (dict === null) this.fail("a dictionary-encoded page without a dictionary page");
    if (at >= page.length && n > 0) this.fail("no dictionary indices");
    const width = page[at] ?? 0;
    const indices = new Int32Array(n);
    try {
      readHybrid(page, at + 1, page.length, width, indices, n);
    } catch (e) {
      this.fail(`dictionary indices: ${(e as Error).message}`);
    }
    for (let i = 0; i < n; i++) {
      const k = indices[i]!;
      if (k < 0 || k >= dict.length)
        this.fail(`dictionary index ${k >>> 0} of a dictionary of ${dict.length}`);
    }
    if (Array.isArray(dict)) {
      const out: string[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = dict[indices[i]!]!;
      return out;
    }
    const out = new (dict.constructor as new (n: number) => Exclude<PageValues, string[] | RawValues>)(n);
    for (let i = 0; i < n; i++) out[i] = dict[indices[i]!]!;
    return out;
  }
}
