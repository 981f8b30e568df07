import { XentError } from "../../../errors.js";

/**
 * LZ4 frame decoding (the format of Arrow's LZ4_FRAME buffers and pyarrow/polars Feather files).
 * Written here because the pure-JS packages on npm are unmaintained and one of them (lz4js 0.2)
 * misreads frames with content size or block checksums. Checksums are skipped, not verified:
 * Arrow adds no integrity promise on top, and a corrupt block is still caught by bounds checks.
 */
const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

function corrupt(what: string): never {
  throw new XentError("format", `corrupt LZ4 data: ${what}`);
}

export class Output {
  bytes: Uint8Array;
  length = 0;
  /** Bytes decoded before `bytes[0]` and dropped (a stream keeps only what matches can reach). */
  dropped = 0;
  /** What output past `limit` is, when not "more than the limit stated" (a stream's words). */
  past: string | undefined;
  /** Output beyond `limit` is corrupt data (a Parquet page states its decoded size). */
  constructor(
    capacity: number,
    /** A stream moves it before each block (Lz4Stream). */
    public limit = Number.POSITIVE_INFINITY,
    /** The caller's memory to decode into (decodeLz4FrameInto: limit is its length). */
    into?: Uint8Array,
  ) {
    this.bytes = into ?? new Uint8Array(Math.max(64, capacity));
  }
  reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    if (this.length + extra > this.limit) corrupt(this.past ?? `more than the ${this.limit} bytes stated`);
    const grown = new Uint8Array(Math.max(this.length + extra, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

/** Runs shorter than this are copied byte by byte. */
const SHORT = 32;

const u32 = (b: Uint8Array, i: number) =>
  (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

/** Decodes one or more concatenated LZ4 frames. */
export function decodeLz4Frame(src: Uint8Array, sizeHint = 0): Uint8Array {
  const out = new Output(sizeHint);
  decodeFrames(inMemory(src), out);
  return out.bytes.subarray(0, out.length);
}

/**
 * Where frames are read from: an array, or a file read a window at a time (a worker thread then
 * holds one block of a 32 MiB buffer, not the buffer). `at(i, n)`: a view of bytes [i, i + n),
 * valid until the next call; the decoder checks i + n against `length` first.
 */
export interface FrameBytes {
  length: number;
  at(i: number, n: number): Uint8Array;
}

const inMemory = (src: Uint8Array): FrameBytes => ({
  length: src.length,
  at: (i, n) => src.subarray(i, i + n),
});

/**
 * One or more LZ4 frames decoded straight into `into`, which they must fill exactly: no output
 * buffer of the decoder's own (a worker decoding 25,000 small class columns allocated and zeroed
 * 400 MB of them, 0.3 s).
 */
export function decodeLz4FrameInto(src: Uint8Array, into: Uint8Array): void {
  const out = new Output(0, into.length, into);
  out.past = `more than the ${into.length} bytes stated`;
  decodeFrames(inMemory(src), out);
  if (out.bytes !== into || out.length !== into.length)
    corrupt(`the data decodes to ${out.length} bytes where ${into.length} are stated`);
}

function decodeFrames(src: FrameBytes, out: Output): void {
  for (const _ of frameBlocks(src, out, false));
}

/** What an LZ4 frame's header (after its magic) says, and where its first block's size word is. */
interface FrameHeader {
  blockChecksum: boolean;
  contentChecksum: boolean;
  /** The frame's decoded size when it states one (polars and pyarrow do), else −1. */
  stated: number;
  /** The block maximum size (BD); blocks carry their own sizes. */
  maxBlock: number;
  blocksAt: number;
}

/** The header of the frame whose magic ends at `i`; throws on a version, dictionary or size it cannot read. */
function frameHeader(src: FrameBytes, i: number): FrameHeader {
  const [flg, bd] = src.at(i, 2);
  if (flg === undefined || flg >> 6 !== 1) corrupt("unknown frame version");
  if ((flg & 0x01) !== 0) corrupt("frames with a dictionary are not supported");
  i += 2;
  let stated = -1;
  if ((flg & 0x08) !== 0) {
    if (i + 8 > src.length) corrupt("truncated frame header");
    const size = src.at(i, 8);
    stated = u32(size, 0) + u32(size, 4) * 2 ** 32;
    i += 8;
  }
  return {
    blockChecksum: (flg & 0x10) !== 0,
    contentChecksum: (flg & 0x04) !== 0,
    stated,
    maxBlock: 1 << (8 + 2 * (((bd ?? 0) >> 4) & 7)),
    blocksAt: i + 1, // after the header checksum
  };
}

/**
 * The frames' blocks decoded one at a time onto `out` (the generator yields after each block).
 * `streaming`: the consumer takes the bytes after every block and may drop all but the last
 * 64 KiB (Output.dropped counts them), so a stated content size is checked, not reserved.
 */
function* frameBlocks(src: FrameBytes, out: Output, streaming: boolean): Generator<void, void, void> {
  let i = 0;
  while (i < src.length) {
    if (i + 4 > src.length) corrupt("truncated frame header");
    const magic = u32(src.at(i, 4), 0);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (i + 8 > src.length) corrupt("truncated skippable frame");
      i += 8 + u32(src.at(i + 4, 4), 0);
      continue;
    }
    if (magic !== FRAME_MAGIC) corrupt("no frame magic");
    const { blockChecksum, contentChecksum, stated, blocksAt } = frameHeader(src, i + 4);
    const frameStart = out.dropped + out.length;
    // The frame's own size when it states one (polars and pyarrow do): the output is allocated
    // once, at its size, and checked against it at the end. An LZ4 block expands at most ~255×,
    // so a stated size beyond that (from the header checksum on) is a lie, not a reason to allocate.
    // Without a stated size, blocks grow the output as they come: reserving twice the input here
    // (polars writes no content size) allocated, zeroed and copied 64 MiB per 32 MiB buffer when
    // the caller's hint (Arrow's stated length) was already exact.
    if (!streaming && stated >= 0 && stated <= (src.length - (blocksAt - 1)) * 256) out.reserve(stated);
    i = blocksAt;
    for (;;) {
      if (i + 4 > src.length) corrupt("truncated block size");
      const word = u32(src.at(i, 4), 0);
      i += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (i + size > src.length) corrupt("block runs past the end");
      const block = src.at(i, size);
      if (word & 0x80000000) {
        out.reserve(size);
        out.bytes.set(block, out.length);
        out.length += size;
      } else {
        decodeBlock(block, 0, size, out);
      }
      i += size + (blockChecksum ? 4 : 0);
      yield;
    }
    if (contentChecksum) i += 4;
    const held = out.dropped + out.length - frameStart;
    if (stated >= 0 && held !== stated) corrupt(`the frame states ${stated} bytes but holds ${held}`);
  }
}

/** How far back an LZ4 match reaches: a stream keeps this much decoded output. */
const HISTORY = 1 << 16;

/** The largest block an LZ4 frame may hold (block maximum size 7). */
const MAX_BLOCK = 4 << 20;

/**
 * An LZ4 frame read a window at a time (`src`) and decoded a block at a time on demand, as
 * ZstdStream is: fill() the next bytes, finish() checks that the frame holds exactly those. A
 * worker holds one block (≤ 4 MiB, 64 KiB–1 MiB as writers cut them) and 64 KiB of history, not
 * the decoded buffer.
 */
export class Lz4Stream {
  private readonly out: Output;
  private readonly blocks: Generator<void, void, void>;
  /** out.bytes[taken, out.length): decoded, not handed out yet. */
  private taken = 0;

  /** `total`: the bytes the frame must decode to (a buffer's stated length). */
  constructor(
    src: FrameBytes,
    private readonly total = Number.POSITIVE_INFINITY,
  ) {
    // No more than the frame decodes to (it grows if a block needs more): a 32 KB class column
    // took 128 KiB, zeroed, and 25,000 of them (1,000 columns in 25 batches) 1.6 s a worker.
    this.out = new Output(Math.min(HISTORY * 2, total));
    this.blocks = frameBlocks(src, this.out, true);
  }

  /** The next block decoded; false at the end of the frames. */
  private next(): boolean {
    const out = this.out;
    if (out.length > HISTORY) {
      const drop = out.length - HISTORY;
      out.bytes.copyWithin(0, drop, out.length);
      out.length = HISTORY;
      out.dropped += drop;
      this.taken -= drop;
    }
    // A block decodes to at most 4 MiB (the frame format's largest) and never past the bytes still
    // due: a hostile block cannot expand 255× into memory (with a stream per class column, up to
    // C of them at once).
    const due = Math.max(0, this.total - out.dropped - out.length);
    out.limit = out.length + Math.min(MAX_BLOCK, due);
    out.past = due <= MAX_BLOCK ? `more than the ${this.total} bytes stated` : "a block of more than 4 MiB";
    return !this.blocks.next().done;
  }

  fill(into: Uint8Array): void {
    let at = 0;
    while (at < into.length) {
      if (this.taken === this.out.length && !this.next())
        corrupt(`the data decodes to ${at} of the ${into.length} bytes asked for`);
      const n = Math.min(into.length - at, this.out.length - this.taken);
      into.set(this.out.bytes.subarray(this.taken, this.taken + n), at);
      this.taken += n;
      at += n;
    }
  }

  /** Checks that nothing follows what was filled (`expected` bytes in all). */
  finish(expected: number): void {
    for (;;) {
      if (this.taken < this.out.length) corrupt(`more than the ${expected} bytes stated`);
      if (!this.next()) return;
    }
  }
}

/** One LZ4 block (sequences of literals and back-references) appended to `out`. */
export function decodeBlock(src: Uint8Array, i: number, end: number, out: Output): void {
  while (i < end) {
    const token = src[i++]!;
    let literals = token >> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (i >= end) corrupt("truncated literal length");
        b = src[i++]!;
        literals += b;
      } while (b === 255);
    }
    if (i + literals > end) corrupt("literals run past the block");
    out.reserve(literals);
    if (literals < SHORT) {
      // Short runs byte by byte: a subarray and set() per run cost more than the copy (incompressible
      // data such as float32 logits is mostly runs of a few literals between 4-byte matches).
      const bytes = out.bytes;
      let o = out.length;
      for (let k = 0; k < literals; k++) bytes[o++] = src[i + k]!;
    } else out.bytes.set(src.subarray(i, i + literals), out.length);
    out.length += literals;
    i += literals;
    if (i >= end) break; // the last sequence has literals only
    if (i + 2 > end) corrupt("truncated match offset");
    const offset = src[i]! | (src[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > out.length) corrupt("match offset outside the output");
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (i >= end) corrupt("truncated match length");
        b = src[i++]!;
        length += b;
      } while (b === 255);
    }
    out.reserve(length);
    const bytes = out.bytes;
    let from = out.length - offset;
    let to = out.length;
    if (offset >= length && length >= SHORT) {
      bytes.copyWithin(to, from, from + length);
    } else {
      // A short match, or an overlapping one (the copy feeds itself: runs of a repeated pattern).
      for (let k = 0; k < length; k++) bytes[to++] = bytes[from++]!;
    }
    out.length += length;
  }
}

/** Where a frame's blocks, all stored as is, lie: every block but the last holds `blockBytes`. */
export interface StoredFrame {
  blockBytes: number;
  /** Each block's first byte (positions of the frame's source). */
  at: number[];
}

/** Stored blocks smaller than this are not worth a read each (a hostile frame of 1-byte blocks). */
const MIN_STORED_BLOCK = 4096;

/**
 * The blocks of one LZ4 frame at `at` (`length` bytes, nothing after it) when every block is
 * stored as is and they decode to exactly `decoded` bytes: LZ4 keeps a block as it is when
 * compressing does not shrink it, as for float scores (the 800 MB bench's class columns: every
 * block), and such a frame's values can be read where they lie. Null for anything else (a
 * compressed block, blocks of unequal sizes, a checksum of the content, a dictionary, bytes after
 * the frame): the caller decodes the frame, which names what is wrong if anything is.
 */
export function storedFrame(
  read: (into: Uint8Array, at: number) => void,
  at: number,
  length: number,
  decoded: number,
): StoredFrame | null {
  const src: FrameBytes = {
    length,
    at(i, n) {
      const bytes = new Uint8Array(Math.max(0, Math.min(n, length - i)));
      if (bytes.length > 0) read(bytes, at + i);
      return bytes;
    },
  };
  if (length < 4 || u32(src.at(0, 4), 0) !== FRAME_MAGIC) return null;
  let header: FrameHeader;
  try {
    header = frameHeader(src, 4);
  } catch {
    return null;
  }
  const { blockChecksum, contentChecksum, stated, maxBlock } = header;
  if (maxBlock < 1 << 16 || (stated >= 0 && stated !== decoded)) return null;
  let i = header.blocksAt;
  const blocks: number[] = [];
  let blockBytes = 0;
  let total = 0;
  for (;;) {
    if (i + 4 > length) return null;
    const w = u32(src.at(i, 4), 0);
    i += 4;
    if (w === 0) break;
    const size = w & 0x7fffffff;
    // Only stored blocks, each the size of the first but the last (after which the end mark).
    if ((w & 0x80000000) === 0 || size === 0 || size > maxBlock || i + size > length) return null;
    if (blocks.length === 0) blockBytes = size;
    else if (total !== blockBytes * blocks.length || (blockBytes < MIN_STORED_BLOCK && blocks.length > 1))
      return null;
    blocks.push(at + i);
    total += size;
    if (total > decoded) return null;
    i += size + (blockChecksum ? 4 : 0);
  }
  // After the end mark: a content checksum if flagged, then nothing.
  if (contentChecksum) i += 4;
  if (i !== length || total !== decoded || blocks.length === 0) return null;
  if (total - blockBytes * (blocks.length - 1) > blockBytes) return null;
  // A frame of one block: any block size will do (nothing to cut it at).
  return { blockBytes: blocks.length === 1 ? decoded : blockBytes, at: blocks };
}
