import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { XentError } from "../errors.js";
import { describeIoError } from "./files.js";

/** How many leading bytes format detection looks at. */
export const HEAD_BYTES = 16;

/**
 * Where an input's bytes come from: a file (which readers may also open for positional reads)
 * or standard input (read once, front to back). The first bytes are read ahead for detection and
 * replayed by stream().
 */
export interface ByteSource {
  /** The path as the user gave it, or "<stdin>". */
  name: string;
  /** The file's path; null for standard input. */
  path: string | null;
  /** Up to HEAD_BYTES leading bytes. */
  head: Uint8Array;
  /** Every byte of the input, once, from the start. */
  stream(): AsyncIterable<Uint8Array>;
  /** The size in bytes, null for standard input. */
  size: number | null;
  /** Bytes handed out by stream() so far (for the progress bar). */
  bytesRead: number;
  /** The compressions removed around the content (wrappers.ts), outermost first. */
  wrappers?: ("gzip" | "zstd")[];
}

/** Counts what a stream hands out into `source.bytesRead`. */
async function* counted(source: ByteSource, chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    source.bytesRead += chunk.length;
    yield chunk;
  }
}

export const STDIN_NAME = "<stdin>";

/** What makes a source readable only from the front, for messages. */
export function streamKind(source: ByteSource): string {
  if (source.wrappers?.length) return `${source.wrappers[0]}-compressed data`;
  return source.name === STDIN_NAME ? "standard input" : "a pipe";
}

export async function openByteSource(path: string, stdin?: Readable): Promise<ByteSource> {
  if (path === "-") return stdinSource(stdin ?? process.stdin);
  let size: number;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    // A FIFO or process substitution (<(zcat x.csv.gz)), a character device: read once, front to
    // back, as standard input is (positional reads fail with ESPIPE there).
    if (!s.isFile()) return streamSource(createReadStream(path, { highWaterMark: 1 << 20 }), path);
    size = s.size;
  } catch (e) {
    if (e instanceof XentError) throw e;
    throw new XentError("io", `cannot open: ${describeIoError(e)}`, { file: path });
  }
  const head = await readHead(
    createReadStream(path, { start: 0, end: Math.max(0, Math.min(size, HEAD_BYTES) - 1) }),
    path,
  );
  const source: ByteSource = {
    name: path,
    path,
    head: size === 0 ? new Uint8Array(0) : head,
    size,
    bytesRead: 0,
    stream: () => counted(source, guard(createReadStream(path, { highWaterMark: 1 << 20 }), path)),
  };
  return source;
}

async function readHead(stream: Readable, name: string): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const chunk of guard(stream, name)) parts.push(Buffer.from(chunk));
  return new Uint8Array(Buffer.concat(parts));
}

/** Turns a stream's I/O errors into XentErrors naming the input. */
async function* guard(stream: Readable, name: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (e) {
    // A decompressor's error (wrappers.ts) already says what and where.
    if (e instanceof XentError) throw e;
    throw new XentError("io", `cannot read: ${describeIoError(e)}`, { file: name });
  } finally {
    stream.destroy();
  }
}

const stdinSource = (stdin: Readable) => streamSource(stdin, STDIN_NAME);

/** Chunks handed to readers from a stream: a file's read size. */
const STREAM_CHUNK = 1 << 20;

/**
 * A pipe delivers 64 KiB at a time, and every chunk costs a parser its per-chunk work (a line cut
 * across chunks, a batch of rows): a 97 MB CSV piped in took 2x its time read by path. Chunks are
 * gathered to `size` bytes, as a file's read stream gives them.
 */
async function* coalesce(it: AsyncIterator<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let have = 0;
  for (let next = await it.next(); !next.done; next = await it.next()) {
    if (have === 0 && next.value.length >= size) {
      yield next.value;
      continue;
    }
    parts.push(next.value);
    have += next.value.length;
    if (have >= size) {
      yield parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts));
      parts = [];
      have = 0;
    }
  }
  if (have > 0) yield parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts));
}

/** An input read once from the front: standard input, a pipe. `path` is null: no positional reads. */
export async function streamSource(input: Readable, name: string): Promise<ByteSource> {
  const it = guard(input, name)[Symbol.asyncIterator]();
  const first: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < HEAD_BYTES) {
    const next = await it.next();
    if (next.done) {
      done = true;
      break;
    }
    first.push(next.value);
    have += next.value.length;
  }
  const buffered = new Uint8Array(Buffer.concat(first));
  let used = false;
  const source: ByteSource = {
    name,
    path: null,
    head: buffered.subarray(0, HEAD_BYTES),
    size: null,
    bytesRead: 0,
    stream: () => {
      if (used) throw new Error(`${name} can be read only once`);
      used = true;
      return counted(
        source,
        (async function* () {
          if (buffered.length > 0) yield buffered;
          if (done) return;
          yield* coalesce(it, STREAM_CHUNK);
        })(),
      );
    },
  };
  return source;
}
