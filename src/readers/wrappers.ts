import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";
import { XentError } from "../errors.js";
import { type ByteSource, streamSource } from "./byteSource.js";

/** A compression around a whole file (`preds.csv.gz`, `logits.npy.zst`), recognised by its magic. */
export type Wrapper = "gzip" | "zstd";

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

export function wrapperOf(head: Uint8Array): Wrapper | null {
  const starts = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (starts(GZIP_MAGIC)) return "gzip";
  if (starts(ZSTD_MAGIC)) return "zstd";
  return null;
}

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
    const outer = source;
    Object.defineProperty(inner, "bytesRead", { get: () => outer.bytesRead, set: () => {} });
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
  const decoder = new Decompress((chunk) => {
    out.push(chunk);
  });
  const fail = (e: unknown) =>
    new XentError("format", `corrupt zstd data: ${e instanceof Error ? e.message : String(e)}`, {
      file: name,
    });
  let seen = false;
  for await (const chunk of chunks) {
    if (!seen) checkWindow(chunk, name);
    seen = true;
    // fzstd decodes all it is given at once: a block of 128 KiB can take 4 compressed bytes, so
    // 1 MiB of compressed zeros became 120 MB in one push (222 MiB peak). A KiB at a time keeps
    // a push to at most 32 MiB, and real data to a few KiB.
    for (let at = 0; at < chunk.length; at += ZSTD_SLICE) {
      try {
        decoder.push(chunk.subarray(at, at + ZSTD_SLICE));
      } catch (e) {
        throw fail(e);
      }
      yield* out.splice(0);
    }
  }
  try {
    decoder.push(new Uint8Array(0), true);
  } catch (e) {
    throw fail(e);
  }
  yield* out.splice(0);
  if (!seen) throw fail("no data");
}

/**
 * The largest zstd window xent decompresses with: zstd's `--long` default (128 MiB). The decoder
 * allocates the window a frame header states (a single-segment frame's window is its whole
 * content), so a header claiming 2 GiB would be an allocation of 2 GiB before any data.
 */
export const MAX_ZSTD_WINDOW = 1 << 27;

/** Checks the first frame's window (from its header) against MAX_ZSTD_WINDOW. */
function checkWindow(head: Uint8Array, name: string): void {
  if (head.length < 6) return;
  const fhd = head[4]!;
  const singleSegment = (fhd >> 5) & 1;
  let window: number;
  if (!singleSegment) {
    const wb = 2 ** (10 + (head[5]! >> 3));
    window = wb + (wb / 8) * (head[5]! & 7);
  } else {
    // The content size: after the descriptor and the dictionary id, 1, 2, 4 or 8 bytes.
    const fcf = fhd >> 6;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    const size = fcf === 0 ? 1 : 2 ** fcf;
    const at = 5 + dictBytes;
    if (head.length < at + size) return;
    window = 0;
    for (let i = size - 1; i >= 0; i--) window = window * 256 + head[at + i]!;
    if (fcf === 1) window += 256;
  }
  if (window > MAX_ZSTD_WINDOW) {
    throw new XentError(
      "format",
      `zstd data with a ${Math.round(window / 2 ** 20)} MiB window: xent decompresses with at most ${MAX_ZSTD_WINDOW / 2 ** 20} MiB (compress without --long=28 or above, or in frames of at most 128 MiB)`,
      { file: name },
    );
  }
}
