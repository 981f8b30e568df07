import { XentError } from "../../errors.js";
import { type NpyHeader, npyHeaderLength, parseNpyHeader } from "./header.js";
import { decode, type NpyArray, type NpyRows, npyByteLength, sizeMismatch } from "./npy.js";

/** Reads exact byte counts from a stream of chunks of any size (stdin, an inflating zip member). */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private ended = false;
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Up to n bytes into a fresh, aligned buffer: fewer only at the end of the stream. */
  async read(n: number): Promise<Uint8Array> {
    while (this.pendingBytes < n && !this.ended) {
      const next = await this.it.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        this.pending.push(next.value);
        this.pendingBytes += next.value.length;
      }
    }
    const take = Math.min(n, this.pendingBytes);
    const out = new Uint8Array(new ArrayBuffer(take));
    let filled = 0;
    while (filled < take) {
      const head = this.pending[0]!;
      const part = Math.min(head.length, take - filled);
      out.set(head.subarray(0, part), filled);
      filled += part;
      if (part === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(part);
    }
    this.pendingBytes -= take;
    this.consumed += take;
    return out;
  }

  /** Counts (and drops) whatever is left. */
  async drain(): Promise<number> {
    let rest = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.ended) {
      for (let next = await this.it.next(); !next.done; next = await this.it.next())
        rest += next.value.length;
      this.ended = true;
    }
    await this.it.return?.();
    return rest;
  }
}

/**
 * An NPY array read front to back (standard input, a deflated NPZ member). Only layouts whose rows
 * are contiguous can be streamed: C order with the class axis last. The size is checked as the
 * data arrives: too few bytes or bytes after the data are errors.
 */
export async function openNpyStream(source: AsyncIterable<Uint8Array>, name: string): Promise<NpyArray> {
  const reader = new ByteReader(source);
  let header: NpyHeader;
  try {
    let bytes = await reader.read(10);
    if (bytes.length === 10 && bytes[6]! >= 2) bytes = concat(bytes, await reader.read(2));
    const length = npyHeaderLength(bytes);
    header = parseNpyHeader(concat(bytes, await reader.read(length - bytes.length)));
  } catch (e) {
    throw e instanceof XentError ? e.at({ file: name }) : e;
  }
  const expected = npyByteLength(header);
  async function* stream(h: NpyHeader, axis: number, chunkRows: number): AsyncGenerator<NpyRows> {
    const { shape, dtype, fortranOrder } = h;
    const width = shape[axis]!;
    const rowsTotal = width === 0 ? 0 : shape.reduce((a, b) => a * b, 1) / width;
    // Fortran order is the same bytes as C order when at most one axis is longer than 1.
    const trivial = shape.filter((d) => d > 1).length <= 1;
    if (axis !== shape.length - 1 || (fortranOrder && !trivial)) {
      throw new XentError(
        "format",
        "only a C-order array with the class axis last can be read as a stream; save it with np.ascontiguousarray, or pass a file path",
        { file: name },
      );
    }
    for (let start = 0; start < rowsTotal; start += chunkRows) {
      const n = Math.min(chunkRows, rowsTotal - start);
      const bytes = await reader.read(n * width * dtype.size);
      if (bytes.length < n * width * dtype.size) {
        throw sizeMismatch(header, reader.consumed, expected).at({ file: name });
      }
      yield { start, rows: n, data: decode(bytes, dtype) };
    }
    const extra = await reader.drain();
    if (extra > 0) throw sizeMismatch(header, expected + extra, expected).at({ file: name });
  }
  return {
    name,
    header,
    rows: (axis, chunkRows) => stream(header, axis, chunkRows),
    values: (chunkRows) => stream({ ...header, shape: [...header.shape, 1] }, header.shape.length, chunkRows),
    close: async () => {
      await reader.drain();
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
