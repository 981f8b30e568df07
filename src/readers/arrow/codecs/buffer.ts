import { XentError } from "../../../errors.js";
import { decodeZstd } from "../../zstd.js";
import { ZstdStream } from "../../zstdStream.js";
import {
  decodeLz4Frame,
  decodeLz4FrameInto,
  type FrameBytes,
  Lz4Stream,
  type StoredFrame,
  storedFrame,
} from "./lz4Frame.js";

export type ArrowCodec = "lz4" | "zstd";

/** Buffers apache-arrow reads are below 2 GiB; a larger stated length is a corrupted file. */
const MAX_BUFFER = 2 ** 31 - 1;

const corrupt = (what: string) => new XentError("format", `corrupt Arrow data: ${what}`);

/**
 * The uncompressed length a compressed buffer states in its first 8 bytes: −1 for a buffer stored
 * as is, else a checked length. The one reading of it for apache-arrow's codecs (register.ts) and
 * for worker threads.
 */
export function statedLength(prefix: Uint8Array): number {
  if (prefix.length < 8) throw corrupt("a compressed buffer without its length");
  const stated = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigInt64(0, true);
  if (stated === -1n) return -1;
  if (stated < 0n || stated > BigInt(MAX_BUFFER)) throw corrupt(`a compressed buffer states ${stated} bytes`);
  return Number(stated);
}

/** A decoded buffer must be exactly as long as it stated: a shorter one would read as fewer values. */
export function checkDecoded(length: number, size: number): void {
  if (length !== size) throw corrupt(`a compressed buffer decodes to ${length} bytes, it states ${size}`);
}

/** An LZ4 frame decoded into a new array; the stated size is only a hint, capped at LZ4's 255:1 expansion (never an allocation on trust). */
export const decodeLz4Buffer = (frame: Uint8Array, size: number): Uint8Array =>
  decodeLz4Frame(frame, Math.min(size, frame.length * 255 + 64));

/** A buffer that must fill `needed` bytes exactly: its stated size is checked before decoding. */
function checkInto(size: number, needed: number): void {
  if (size !== needed) throw corrupt(`a compressed buffer states ${size} bytes where ${needed} are needed`);
}

/** A stored (−1) buffer of `available` bytes must hold at least the `needed`. */
function checkStored(available: number, needed: number): void {
  if (available < needed) throw corrupt(`a buffer of ${available} bytes where ${needed} are needed`);
}

/** A decoder's complaint (libzstd's plain Errors) as what it is; XentErrors (LZ4's) pass as they are. */
function asCorrupt(e: unknown): XentError {
  return e instanceof XentError ? e : corrupt(e instanceof Error ? e.message : String(e));
}

/**
 * One buffer of a compressed record batch as the file holds it: its 8-byte uncompressed length
 * (−1: stored as is), then an LZ4 frame or a zstd frame, decoded into a new array. Every length is
 * checked: a decoded buffer shorter than stated would read as fewer values.
 */
export function decodeArrowBuffer(raw: Uint8Array, codec: ArrowCodec): Uint8Array {
  const size = statedLength(raw);
  const body = raw.subarray(8);
  if (size === -1) return body;
  let decoded: Uint8Array;
  if (codec === "lz4") decoded = decodeLz4Buffer(body, size);
  else {
    try {
      decoded = decodeZstd(body, size);
    } catch (e) {
      throw asCorrupt(e);
    }
  }
  checkDecoded(decoded.length, size);
  return decoded;
}

/** Reads `into.length` bytes of the file at `position` (a worker's positional read). */
export type ReadAt = (into: Uint8Array, position: number) => void;

/**
 * Where an LZ4 buffer's `needed` bytes lie in the file when it holds them as they are: a buffer
 * stored as is (−1), or a frame of stored blocks (storedFrame). Null otherwise, and for anything
 * unexpected: the buffer is then decoded, by code that names what is wrong.
 */
export function storedBufferAt(
  read: ReadAt,
  position: number,
  length: number,
  needed: number,
): StoredFrame | null {
  if (length < 8) return null;
  const prefix = new Uint8Array(8);
  read(prefix, position);
  let stated: number;
  try {
    stated = statedLength(prefix);
  } catch {
    return null;
  }
  if (stated === -1) return length - 8 >= needed ? { blockBytes: needed, at: [position + 8] } : null;
  return stated === needed ? storedFrame(read, position + 8, length - 8, needed) : null;
}

/** File windows: reads of at least this many bytes (a block of an LZ4 frame is at most 4 MiB). */
const WINDOW = 1 << 20;

/**
 * Scratch memory for reading compressed buffers, which several streams may share (a batch of one
 * LZ4 column per class: a stream per column): `owner` says whose window it holds.
 */
export interface Scratch {
  buffer: Uint8Array;
  owner?: object | undefined;
}

/**
 * An LZ4 frame of `length` bytes at `position` of a file, read `window` bytes (or the block asked
 * for, if larger) at a time.
 */
function frameAt(
  read: ReadAt,
  position: number,
  length: number,
  scratch: Scratch,
  window: number,
): FrameBytes {
  let base = 0;
  let filled = 0;
  const self = {};
  return {
    length,
    at(i, n) {
      if (scratch.owner === self && i >= base && i + n <= base + filled)
        return scratch.buffer.subarray(i - base, i - base + n);
      const size = Math.min(Math.max(n, window), length - i);
      if (size <= 0) return new Uint8Array(0);
      const bytes = take(scratch, size);
      read(bytes, position + i);
      scratch.owner = self;
      base = i;
      filled = size;
      return bytes.subarray(0, Math.min(n, size));
    },
  };
}

/** A buffer's decoded bytes, handed out in order: fill() the next ones, finish() at the end. */
export interface BufferReader {
  fill(into: Uint8Array): void;
  /** Checks that the buffer held exactly the bytes filled (a zstd frame: ended, nothing after). */
  finish(): void;
  close(): void;
}

/**
 * A compressed buffer of `bytes` bytes at `position` (its stated length first, checked to be
 * `size`) decoded as it is read, a window at a time: a worker evaluates a batch's rows as they
 * come and holds neither the compressed nor the decoded batch (zstd: prepareZstdStream() first).
 * A buffer stored as is (−1) is read straight from the file.
 */
export function compressedBufferAt(
  read: ReadAt,
  position: number,
  bytes: number,
  codec: ArrowCodec,
  size: number,
  scratch: Scratch,
  window = WINDOW,
): BufferReader {
  if (bytes < 8) throw corrupt("a compressed buffer without its length");
  const prefix = take(scratch, 8);
  read(prefix, position);
  scratch.owner = undefined;
  const stated = statedLength(prefix);
  let filled = 0;
  if (stated === -1) {
    checkStored(bytes - 8, size);
    return {
      fill(into) {
        read(into, position + 8 + filled);
        filled += into.length;
      },
      finish() {},
      close() {},
    };
  }
  checkInto(stated, size);
  const stream =
    codec === "zstd"
      ? new ZstdStream((offset, n) => {
          const into = take(scratch, n);
          read(into, position + 8 + offset);
          scratch.owner = undefined;
          return into;
        }, bytes - 8)
      : new Lz4Stream(frameAt(read, position + 8, bytes - 8, scratch, window), size);
  const checked = (f: () => void) => {
    try {
      f();
    } catch (e) {
      throw asCorrupt(e);
    }
  };
  return {
    fill(into) {
      checked(() => stream.fill(into));
      filled += into.length;
    },
    finish() {
      checked(() => stream.finish(size));
      checkDecoded(filled, size);
    },
    close: () => (stream instanceof ZstdStream ? stream.close() : undefined),
  };
}

/**
 * The same buffer decoded whole when opened, then handed out in order: a zstd class column of a
 * small batch (a stream per column would hold a window as large as its column and libzstd's
 * stream state besides, for each of C columns at once). zstd only: prepareZstd() first.
 */
export function decodedBufferAt(
  read: ReadAt,
  position: number,
  bytes: number,
  codec: ArrowCodec,
  size: number,
  scratch: Scratch,
): BufferReader {
  if (bytes < 8) throw corrupt("a compressed buffer without its length");
  const raw = take(scratch, bytes);
  read(raw, position);
  scratch.owner = undefined;
  const stated = statedLength(raw);
  if (stated === -1) checkStored(bytes - 8, size);
  else checkInto(stated, size);
  const decoded = stated === -1 ? raw.slice(8, 8 + size) : decodeArrowBuffer(raw, codec);
  let filled = 0;
  return {
    fill(into) {
      if (filled + into.length > size) throw corrupt(`a buffer of ${size} bytes read past its end`);
      into.set(decoded.subarray(filled, filled + into.length));
      filled += into.length;
    },
    finish: () => checkDecoded(filled, size),
    close() {},
  };
}

/**
 * A compressed buffer decoded whole into `into`, which it must fill exactly (its stated length
 * checked first): a worker decoding class columns one after another into memory it holds. An LZ4
 * buffer is read in one read and decoded in place (no stream, no output buffer of its own); a zstd
 * one, or an LZ4 one larger than its data could be, as a stream.
 */
export function decodeBufferInto(
  read: ReadAt,
  position: number,
  bytes: number,
  codec: ArrowCodec,
  into: Uint8Array,
  scratch: Scratch,
): void {
  // An LZ4 frame of incompressible data is its data plus 4 bytes a block and ~20 of header.
  if (codec === "lz4" && bytes <= 8 + into.length + (into.length >> 8) + 64) {
    if (bytes < 8) throw corrupt("a compressed buffer without its length");
    const raw = take(scratch, bytes);
    read(raw, position);
    scratch.owner = undefined;
    const stated = statedLength(raw);
    if (stated === -1) {
      checkStored(bytes - 8, into.length);
      into.set(raw.subarray(8, 8 + into.length));
      return;
    }
    checkInto(stated, into.length);
    decodeLz4FrameInto(raw.subarray(8), into);
    return;
  }
  readBufferAt(read, position, bytes, codec, into.length, scratch, (reader) => reader.fill(into));
}

/**
 * A compressed buffer read from start to end as a stream (compressedBufferAt): `use` fills from
 * it, then it is checked to end there (finish) and its decoder freed, whatever happens.
 */
export function readBufferAt(
  read: ReadAt,
  position: number,
  bytes: number,
  codec: ArrowCodec,
  size: number,
  scratch: Scratch,
  use: (reader: BufferReader) => void,
): void {
  const reader = compressedBufferAt(read, position, bytes, codec, size, scratch);
  try {
    use(reader);
    reader.finish();
  } finally {
    reader.close();
  }
}

/** `n` bytes of the scratch buffer, grown to the largest asked for. */
export function take(scratch: Scratch, n: number): Uint8Array {
  if (scratch.buffer.length < n) scratch.buffer = new Uint8Array(n);
  return scratch.buffer.subarray(0, n);
}
