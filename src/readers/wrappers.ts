import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";
import { XentError } from "../errors.js";
import { type ByteSource, streamSource } from "./byteSource.js";
import { Xxh64 } from "./xxh64.js";

/** A compression around a whole file (`preds.csv.gz`, `logits.npy.zst`), recognised by its magic. */
export type Wrapper = "gzip" | "zstd";

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

export function wrapperOf(head: Uint8Array): Wrapper | null {
  const starts = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (starts(GZIP_MAGIC)) return "gzip";
  if (starts(ZSTD_MAGIC)) return "zstd";
  // A zstd stream may open with a skippable frame.
  if (head.length >= 4 && isSkippable(le32(head, 0))) return "zstd";
  return null;
}

/** A little-endian u32 at `at` of bytes (an array or a Uint8Array). */
const le32 = (b: ArrayLike<number>, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** The magic of a zstd skippable frame: 0x184D2A50 to 0x184D2A5F. */
const isSkippable = (magic: number) => (magic & 0xfffffff0) === 0x184d2a50;

const ZSTD_SLICE = 1024;

/** Wrappers inside wrappers (`.zst` of a `.gz`) are unwrapped up to this depth. */
const MAX_DEPTH = 3;

/**
 * The input with its gzip or zstd wrappers removed, as a stream read once from the front (as
 * standard input is): memory stays a few decompressed chunks whatever the ratio. The progress
 * counts the compressed bytes read against the compressed size. Inputs without a wrapper are
 * returned as they are.
 */
export async function unwrap(source: ByteSource): Promise<ByteSource> {
  let current = source;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const wrapper = wrapperOf(current.head);
    if (wrapper === null) return current;
    const compressed = current.stream();
    const decompressed =
      wrapper === "gzip" ? gunzip(compressed, source.name) : unzstd(compressed, source.name);
    const inner = await streamSource(Readable.from(decompressed), source.name);
    Object.defineProperty(inner, "bytesRead", { get: () => source.bytesRead, set: () => {} });
    inner.size = source.size;
    inner.wrappers = [...(current.wrappers ?? []), wrapper];
    current = inner;
  }
  throw new XentError("format", `more than ${MAX_DEPTH} layers of compression`, { file: source.name });
}

async function* gunzip(chunks: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  const z = createGunzip();
  const input = Readable.from(chunks);
  input.on("error", (e) => z.destroy(e));
  input.pipe(z);
  try {
    for await (const chunk of z) yield chunk as Uint8Array;
  } catch (e) {
    if (e instanceof XentError) throw e;
    throw new XentError("format", `corrupt gzip data: ${zlibMessage(e)}`, { file: name });
  } finally {
    input.destroy();
    z.destroy();
  }
}

function zlibMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message === "unexpected end of file"
    ? "the file ends inside the compressed data (truncated?)"
    : message;
}

async function* unzstd(chunks: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  // Every byte the decoder makes goes into the current frame's hash, checked at the frame's end.
  let hash = new Xxh64();
  const decoder = new Decompress((chunk) => {
    out.push(chunk);
    hash.update(chunk);
  });
  const fail = (e: unknown) =>
    new XentError("format", `corrupt zstd data: ${e instanceof Error ? e.message : String(e)}`, {
      file: name,
    });
  const push = (bytes: Uint8Array, final = false) => {
    try {
      decoder.push(bytes, final);
    } catch (e) {
      throw fail(e);
    }
  };
  /** Content hashes of frames whose checksum has not been read yet, in order. */
  const made: number[] = [];
  let frame = 0;
  const check = () => {
    while (made.length > 0 && walker.checksums.length > 0) {
      frame++;
      const got = made.shift()!;
      const want = walker.checksums.shift()!;
      if (got !== want)
        throw fail(
          `frame ${frame}'s content does not match its checksum (XXH64 ${got.toString(16)}, stated ${want.toString(16)})`,
        );
    }
  };
  let seen = false;
  const walker = new ZstdFrameWalker(name);
  for await (const chunk of chunks) {
    walker.feed(chunk);
    seen = true;
    // fzstd decodes all it is given at once: a block of 128 KiB can take 4 compressed bytes, so
    // 1 MiB of compressed zeros became 120 MB in one push (222 MiB peak). A KiB at a time keeps
    // a push to at most 32 MiB, and real data to a few KiB. Pushes also stop where a frame's
    // blocks end, so that its content is complete when its hash is taken.
    let at = 0;
    for (const cut of [...walker.cuts, { at: chunk.length, checksum: null }]) {
      for (; at < cut.at; at = Math.min(cut.at, at + ZSTD_SLICE)) {
        push(chunk.subarray(at, Math.min(cut.at, at + ZSTD_SLICE)));
        yield* out.splice(0);
      }
      if (cut.checksum === null) continue;
      const digest = Number(hash.digest() & 0xffffffffn);
      hash = new Xxh64();
      // Frames without a checksum (zstd --no-check) cannot be checked.
      if (cut.checksum) made.push(digest);
    }
    check();
  }
  push(new Uint8Array(0), true);
  yield* out.splice(0);
  check();
  if (!seen) throw fail("no data");
  if (made.length > 0) throw fail("the data ends before the last frame's checksum (truncated?)");
}

/**
 * The largest zstd window xent decompresses with: zstd's `--long` default (128 MiB). The decoder
 * allocates the window a frame header states (a single-segment frame's window is its whole
 * content), so a header claiming 2 GiB would be an allocation of 2 GiB before any data.
 */
export const MAX_ZSTD_WINDOW = 1 << 27;

const ZSTD_FRAME = 0xfd2fb528;

/**
 * Walks zstd frames as their bytes arrive, ahead of the decoder, reading only frame headers and
 * block headers (3 bytes: last-block flag, type, size) and skipping the rest: every frame's
 * window is checked against MAX_ZSTD_WINDOW before the decoder sees the frame, and the walk
 * says where each frame's blocks end (`cuts`, offsets in the chunk fed) and what content
 * checksum follows them (`checksums`: the frame header's flag set, the low 32 bits of XXH64),
 * for unzstd to check what the decoder made. Skippable frames are skipped; anything else is left
 * to the decoder, which refuses it.
 */
export class ZstdFrameWalker {
  private head: number[] = [];
  private state: "magic" | "frame" | "block" | "skip" | "checksum" | "other" = "magic";
  /** Bytes to skip before the next header: a block's payload, a skippable frame. */
  private skip = 0;
  private afterSkip: "magic" | "block" | "end" = "magic";
  private hasChecksum = false;
  /** Per frame with blocks ended in the last feed: the offset in that chunk, and whether a checksum follows. */
  cuts: { at: number; checksum: boolean }[] = [];
  /** Checksums read, in frame order, not yet taken. */
  readonly checksums: number[] = [];

  constructor(private readonly name: string) {}

  feed(chunk: Uint8Array): void {
    this.cuts = [];
    let i = 0;
    for (;;) {
      if (this.state === "skip") {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        if (this.skip > 0) return;
        if (this.afterSkip === "end") {
          this.cuts.push({ at: i, checksum: this.hasChecksum });
          this.state = this.hasChecksum ? "checksum" : "magic";
        } else this.state = this.afterSkip;
        continue;
      }
      if (this.state === "other" || i >= chunk.length) return;
      this.head.push(chunk[i++]!);
      this.step();
    }
  }

  private step(): void {
    const h = this.head;
    if (this.state === "checksum") {
      if (h.length < 4) return;
      this.checksums.push(le32(h, 0));
      this.head = [];
      this.state = "magic";
      return;
    }
    if (this.state === "magic") {
      if (h.length < 4) return;
      const magic = le32(h, 0);
      if (isSkippable(magic)) {
        if (h.length < 8) return;
        this.skipThen(le32(h, 4), "magic");
        return;
      }
      if (magic !== ZSTD_FRAME) {
        this.state = "other";
        return;
      }
      this.state = "frame";
      return;
    }
    if (this.state === "frame") {
      if (h.length < 5) return;
      const fhd = h[4]!;
      const single = (fhd >> 5) & 1;
      const dictBytes = [0, 1, 2, 4][fhd & 3]!;
      const fcf = fhd >> 6;
      const sizeBytes = fcf === 0 ? single : 2 ** fcf;
      const total = 5 + (single ? 0 : 1) + dictBytes + sizeBytes;
      if (h.length < total) return;
      let window: number;
      if (!single) {
        const wb = 2 ** (10 + (h[5]! >> 3));
        window = wb + (wb / 8) * (h[5]! & 7);
      } else {
        window = 0;
        const at = 5 + dictBytes;
        for (let k = sizeBytes - 1; k >= 0; k--) window = window * 256 + h[at + k]!;
        if (fcf === 1) window += 256;
      }
      if (window > MAX_ZSTD_WINDOW) {
        throw new XentError(
          "format",
          `zstd data with a ${Math.round(window / 2 ** 20)} MiB window: xent decompresses with at most ${MAX_ZSTD_WINDOW / 2 ** 20} MiB (compress without --long=28 or above, or in frames of at most 128 MiB)`,
          { file: this.name },
        );
      }
      this.hasChecksum = ((fhd >> 2) & 1) === 1;
      this.head = [];
      this.state = "block";
      return;
    }
    // A block header: bit 0 last block, bits 1-2 type (0 raw, 1 RLE, 2 compressed), then the size.
    if (h.length < 3) return;
    const header = h[0]! | (h[1]! << 8) | (h[2]! << 16);
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    this.skipThen(type === 1 ? 1 : size, header & 1 ? "end" : "block");
  }

  private skipThen(bytes: number, next: "magic" | "block" | "end"): void {
    this.head = [];
    this.skip = bytes;
    this.afterSkip = next;
    // Even an empty payload passes through "skip", where the end of a frame's blocks is noted.
    this.state = "skip";
  }
}
