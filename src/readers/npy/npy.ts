import type { FileHandle } from "node:fs/promises";
import { XentError } from "../../errors.js";
import { openFile, readExactly } from "../files.js";
import { bfloat16ToFloat32, bfloat16ToNumber, float16ToFloat32, float16ToNumber } from "../float16.js";
import { NPY_PREAMBLE, type NpyDtype, type NpyHeader, npyHeaderLength, parseNpyHeader } from "./header.js";

/** An NPY array opened for reading rows: from a file or an NPZ member (positional) or a stream. */
export interface NpyArray {
  /** For messages: the path, `archive.npz:member.npy`, or <stdin>. */
  name: string;
  header: NpyHeader;
  /** Rows of width shape[axis] (see npyRows); one pass. */
  rows(axis: number, chunkRows: number): AsyncGenerator<NpyRows>;
  /** Every element in C order, as rows of one value (1-D targets, class weights); one pass. */
  values(chunkRows: number): AsyncGenerator<NpyRows>;
  close(): Promise<void>;
}

/** A positional NPY: a whole file, or a stored member `size` bytes long at `base` in an archive. */
export interface NpyFile {
  path: string;
  header: NpyHeader;
  handle: FileHandle;
  base: number;
}

/** Elements × itemsize + header, checked to be a safe integer. */
export function npyByteLength(header: NpyHeader): number {
  let count = 1;
  for (const d of header.shape) count *= d;
  const bytes = header.dataOffset + count * header.dtype.size;
  if (!Number.isSafeInteger(bytes)) throw new XentError("format", `NPY shape (${header.shape}) is too large`);
  return bytes;
}

export function sizeMismatch(header: NpyHeader, size: number, expected: number): XentError {
  const what = `${header.dtype.name} array of shape (${header.shape.join(", ")}) needs ${expected} bytes`;
  return new XentError(
    "format",
    size < expected
      ? `truncated NPY file: a ${what}, the file has ${size}`
      : `NPY file has ${size - expected} bytes after the data: a ${what}`,
  );
}

/**
 * Opens an NPY file (or a stored member of an NPZ archive) and checks, before any data is read,
 * that the header agrees with the size.
 */
export async function openNpy(
  path: string,
  member?: { handle: FileHandle; base: number; size: number; name: string },
): Promise<NpyArray & { file: NpyFile }> {
  const handle = member?.handle ?? (await openFile(path));
  const name = member?.name ?? path;
  const base = member?.base ?? 0;
  try {
    const size = member?.size ?? (await handle.stat()).size;
    const preamble = await readExactly(handle, base, Math.min(NPY_PREAMBLE, size));
    const headerBytes = await readExactly(handle, base, Math.min(npyHeaderLength(preamble), size));
    const header = parseNpyHeader(headerBytes);
    const expected = npyByteLength(header);
    if (size !== expected) throw sizeMismatch(header, size, expected);
    const file: NpyFile = { path: name, header, handle, base };
    return {
      name,
      header,
      file,
      rows: (axis, chunkRows) => npyRows(file, axis, chunkRows),
      values: (chunkRows) => npyValues(file, chunkRows),
      close: () => (member ? Promise.resolve() : handle.close()),
    };
  } catch (e) {
    if (!member) await handle.close();
    throw e instanceof XentError ? e.at({ file: name }) : e;
  }
}

/** One block of rows: `rows` × `width` values, row-major. */
export interface NpyRows {
  start: number;
  rows: number;
  data: Float64Array | Float32Array;
}

/**
 * The file as rows of `width = shape[axis]` values: every other axis is flattened into rows in C
 * order (PyTorch's (N, C, d1, …) with axis 1 gives N·d1·… rows of C). A C-order file with the
 * axis last streams straight through; any other layout is gathered from bounded reads.
 */
export async function* npyRows(
  file: NpyFile,
  axis: number,
  chunkRows: number,
  spanLimit = SPAN_LIMIT,
): AsyncGenerator<NpyRows> {
  const { header, handle, base } = file;
  const shape = header.shape;
  const width = shape[axis]!;
  const rows = shape.reduce((a, b) => a * b, 1) / (width || 1);
  if (width === 0) {
    if (rows > 0) throw new XentError("shape", "the class axis has length 0", { file: file.path });
    return;
  }
  const itemsize = header.dtype.size;
  const contiguous = axis === shape.length - 1 && (!header.fortranOrder || shape.length === 1 || rows <= 1);
  for (let start = 0; start < rows; start += chunkRows) {
    const n = Math.min(chunkRows, rows - start);
    if (contiguous) {
      const bytes = await readExactly(
        handle,
        base + header.dataOffset + start * width * itemsize,
        n * width * itemsize,
      );
      yield { start, rows: n, data: decode(bytes, header.dtype) };
    } else {
      yield { start, rows: n, data: await gather(file, axis, start, n, spanLimit) };
    }
  }
}

/** Every element of the array in C order, as rows of one value (1-D targets, class weights). */
export function npyValues(file: NpyFile, chunkRows: number): AsyncGenerator<NpyRows> {
  const shape = file.header.shape;
  return npyRows({ ...file, header: { ...file.header, shape: [...shape, 1] } }, shape.length, chunkRows);
}

/** Decodes little- or big-endian elements; float32 stays float32 (exactly representable as double). */
export function decode(bytes: Uint8Array, dtype: NpyDtype): Float64Array | Float32Array {
  const n = bytes.length / dtype.size;
  const nativeLE = dtype.littleEndian || dtype.size === 1;
  if (nativeLE && bytes.byteOffset % dtype.size === 0) {
    if (dtype.size === 2 && (dtype.kind === "f" || dtype.kind === "bf")) {
      const out = new Float32Array(n);
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
      (dtype.kind === "f" ? float16ToFloat32 : bfloat16ToFloat32)(halves, out);
      return out;
    }
    if (dtype.kind === "f" && dtype.size === 4) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    if (dtype.kind === "f" && dtype.size === 8) return new Float64Array(bytes.buffer, bytes.byteOffset, n);
    if (dtype.kind === "i" && dtype.size === 8)
      return decodeInt64(new Int32Array(bytes.buffer, bytes.byteOffset, 2 * n));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out =
    (dtype.kind === "f" || dtype.kind === "bf") && dtype.size <= 4
      ? new Float32Array(n)
      : new Float64Array(n);
  const get = elementReader(view, dtype);
  for (let i = 0; i < n; i++) out[i] = get(i * dtype.size);
  return out;
}

/**
 * Little-endian int64 from its two 32-bit halves: labels are int64 by numpy's default, and going
 * through BigInt costs ~100 ns a value. Exact within ±2^53; beyond, ±Infinity as elementReader.
 */
function decodeInt64(halves: Int32Array): Float64Array {
  const out = new Float64Array(halves.length / 2);
  for (let i = 0; i < out.length; i++) {
    const lo = halves[2 * i]!;
    const hi = halves[2 * i + 1]!;
    if (hi === lo >> 31) out[i] = lo;
    else {
      // Exact when within ±2^53; beyond, rounding cannot bring it back inside.
      const v = hi * 4294967296 + (lo >>> 0);
      out[i] = Math.abs(v) <= Number.MAX_SAFE_INTEGER ? v : v > 0 ? Infinity : -Infinity;
    }
  }
  return out;
}

/** int64/uint64 beyond ±2^53 cannot be a class index; they decode to ±Infinity and fail the range check. */
function elementReader(view: DataView, dtype: NpyDtype): (byteOffset: number) => number {
  const le = dtype.littleEndian;
  const big = (v: bigint) =>
    v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v > 0n
        ? Infinity
        : -Infinity;
  switch (`${dtype.kind}${dtype.size}`) {
    case "f2":
      return (o) => float16ToNumber(view.getUint16(o, le));
    case "bf2":
      return (o) => bfloat16ToNumber(view.getUint16(o, le));
    case "f4":
      return (o) => view.getFloat32(o, le);
    case "f8":
      return (o) => view.getFloat64(o, le);
    case "i1":
      return (o) => view.getInt8(o);
    case "u1":
      return (o) => view.getUint8(o);
    case "i2":
      return (o) => view.getInt16(o, le);
    case "u2":
      return (o) => view.getUint16(o, le);
    case "i4":
      return (o) => view.getInt32(o, le);
    case "u4":
      return (o) => view.getUint32(o, le);
    case "i8":
      return (o) => big(view.getBigInt64(o, le));
    default:
      return (o) => big(view.getBigUint64(o, le));
  }
}

/** Reads spanning more than this many bytes are split into one run per class. */
const SPAN_LIMIT = 32 << 20;

/**
 * Rows [start, start + n) of a layout that is not row-contiguous (Fortran order, or a class axis
 * that is not last): every element's file offset is computed from the strides, then read either
 * in one bounded span or class by class.
 */
async function gather(
  file: NpyFile,
  axis: number,
  start: number,
  n: number,
  spanLimit: number,
): Promise<Float64Array> {
  const { header, handle } = file;
  const { shape, dtype } = header;
  const itemsize = dtype.size;
  const strides = elementStrides(shape, header.fortranOrder);
  const rowAxes = shape.map((_, i) => i).filter((i) => i !== axis);
  const width = shape[axis]!;
  const classStride = strides[axis]!;
  const base = new Float64Array(n);
  const index = rowAxes.map(() => 0);
  // Multi-index of row `start` (C order over the row axes), then step it row by row.
  let rest = start;
  for (let j = rowAxes.length - 1; j >= 0; j--) {
    const d = shape[rowAxes[j]!]!;
    index[j] = rest % d;
    rest = Math.floor(rest / d);
  }
  for (let r = 0; r < n; r++) {
    let b = 0;
    for (let j = 0; j < rowAxes.length; j++) b += index[j]! * strides[rowAxes[j]!]!;
    base[r] = b;
    for (let j = rowAxes.length - 1; j >= 0; j--) {
      if (++index[j]! < shape[rowAxes[j]!]!) break;
      index[j] = 0;
    }
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (let r = 0; r < n; r++) {
    lo = Math.min(lo, base[r]!);
    hi = Math.max(hi, base[r]! + (width - 1) * classStride);
  }
  const out = new Float64Array(n * width);
  if ((hi - lo + 1) * itemsize <= spanLimit) {
    const bytes = await readExactly(
      handle,
      file.base + header.dataOffset + lo * itemsize,
      (hi - lo + 1) * itemsize,
    );
    const get = elementReader(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), dtype);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < width; c++) out[r * width + c] = get((base[r]! + c * classStride - lo) * itemsize);
    }
    return out;
  }
  // One class at a time: its elements for these rows, sorted by offset, read in runs.
  const order = Array.from({ length: n }, (_, r) => r).sort((a, b) => base[a]! - base[b]!);
  for (let c = 0; c < width; c++) {
    let i = 0;
    while (i < n) {
      let j = i + 1;
      const first = base[order[i]!]! + c * classStride;
      while (j < n && (base[order[j]!]! - base[order[i]!]!) * itemsize < spanLimit) j++;
      const last = base[order[j - 1]!]! + c * classStride;
      const bytes = await readExactly(
        handle,
        file.base + header.dataOffset + first * itemsize,
        (last - first + 1) * itemsize,
      );
      const get = elementReader(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), dtype);
      for (let k = i; k < j; k++) {
        const r = order[k]!;
        out[r * width + c] = get((base[r]! + c * classStride - first) * itemsize);
      }
      i = j;
    }
  }
  return out;
}

function elementStrides(shape: readonly number[], fortran: boolean): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  if (fortran) {
    for (let i = 0; i < shape.length; i++) {
      strides[i] = s;
      s *= shape[i]!;
    }
  } else {
    for (let i = shape.length - 1; i >= 0; i--) {
      strides[i] = s;
      s *= shape[i]!;
    }
  }
  return strides;
}
