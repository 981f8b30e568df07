import type { FileHandle } from "node:fs/promises";
import { usage, XentError } from "../errors.js";
import { openFile, readExactly } from "./files.js";
import type { NpyDtype, NpyHeader } from "./npy/header.js";
import { type NpyArray, type NpyFile, npyRows, npyValues } from "./npy/npy.js";

/**
 * safetensors (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON naming
 * each tensor's dtype, shape and [begin, end) within the data that follows, then the raw
 * little-endian data. Every field is checked before a byte of data is trusted: the header is at
 * most 100 MB and inside the file, every tensor's bytes match its dtype and shape, and the
 * tensors tile the data exactly (no gap, no overlap, nothing after), as the reference
 * implementation requires.
 */

/** The reference implementation's limit on the header. */
const MAX_HEADER = 100_000_000;

const DTYPES: Record<string, NpyDtype> = {
  F16: { kind: "f", size: 2, littleEndian: true, name: "float16" },
  BF16: { kind: "bf", size: 2, littleEndian: true, name: "bfloat16" },
  F32: { kind: "f", size: 4, littleEndian: true, name: "float32" },
  F64: { kind: "f", size: 8, littleEndian: true, name: "float64" },
  I8: { kind: "i", size: 1, littleEndian: true, name: "int8" },
  I16: { kind: "i", size: 2, littleEndian: true, name: "int16" },
  I32: { kind: "i", size: 4, littleEndian: true, name: "int32" },
  I64: { kind: "i", size: 8, littleEndian: true, name: "int64" },
  U8: { kind: "u", size: 1, littleEndian: true, name: "uint8" },
  U16: { kind: "u", size: 2, littleEndian: true, name: "uint16" },
  U32: { kind: "u", size: 4, littleEndian: true, name: "uint32" },
  U64: { kind: "u", size: 8, littleEndian: true, name: "uint64" },
  BOOL: { kind: "u", size: 1, littleEndian: true, name: "bool" },
};

export interface SafetensorsTensor {
  name: string;
  dtype: NpyDtype;
  shape: number[];
  /** Absolute byte offset of the first element in the file. */
  offset: number;
}

export interface SafetensorsFile {
  path: string;
  /** Tensor names in file order. */
  keys: string[];
  tensors: Map<string, SafetensorsTensor>;
}

/** Whether the first bytes look like safetensors: a plausible length, then `{`. */
export function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.length < 9 || head[8] !== 0x7b) return false;
  const n = Buffer.from(head).readBigUInt64LE(0);
  return n >= 2n && n <= BigInt(MAX_HEADER);
}

export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  const handle = await openFile(path);
  try {
    return await readHeader(handle, path);
  } catch (e) {
    throw e instanceof XentError ? e.at({ file: path }) : e;
  } finally {
    await handle.close();
  }
}

async function readHeader(handle: FileHandle, path: string): Promise<SafetensorsFile> {
  const fail = (what: string) => new XentError("format", `invalid safetensors file: ${what}`);
  const size = (await handle.stat()).size;
  if (size < 8) throw fail(`${size} bytes, fewer than the 8 of the header length`);
  const n = Number(Buffer.from(await readExactly(handle, 0, 8)).readBigUInt64LE(0));
  if (n > MAX_HEADER) throw fail(`a header of ${n} bytes (at most ${MAX_HEADER})`);
  if (8 + n > size) throw fail(`a header of ${n} bytes in a file of ${size}`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(await readExactly(handle, 8, n)).toString("utf8"));
  } catch (e) {
    throw fail(`the header is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw fail("the header is not a JSON object");
  const dataStart = 8 + n;
  const dataSize = size - dataStart;
  const tensors: SafetensorsTensor[] = [];
  const spans: [number, number, string][] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === "__metadata__") continue;
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== "object" || t === null) throw fail(`tensor '${name}' is not an object`);
    const dtype = typeof t.dtype === "string" ? DTYPES[t.dtype] : undefined;
    if (dtype === undefined)
      throw fail(
        `tensor '${name}' has dtype ${JSON.stringify(t.dtype)} (xent reads ${Object.keys(DTYPES).join(", ")})`,
      );
    const shape = t.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw fail(`tensor '${name}' has shape ${JSON.stringify(shape)}`);
    const offsets = t.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1] ||
      offsets[1] > dataSize
    )
      throw fail(
        `tensor '${name}' has data_offsets ${JSON.stringify(offsets)} (the data is ${dataSize} bytes)`,
      );
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const bytes = elements * dtype.size;
    if (!Number.isSafeInteger(bytes) || offsets[1] - offsets[0] !== bytes)
      throw fail(
        `tensor '${name}' (${dtype.name}, shape [${shape.join(", ")}]) needs ${bytes} bytes, its data_offsets span ${offsets[1] - offsets[0]}`,
      );
    tensors.push({ name, dtype, shape: shape as number[], offset: dataStart + offsets[0] });
    spans.push([offsets[0], offsets[1], name]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  for (const [begin, stop, name] of spans) {
    if (begin !== end)
      throw fail(
        begin < end
          ? `tensor '${name}' overlaps the one before it`
          : `a gap of ${begin - end} bytes before tensor '${name}'`,
      );
    end = stop;
  }
  if (end !== dataSize) throw fail(`${dataSize - end} bytes after the last tensor`);
  tensors.sort((a, b) => a.offset - b.offset);
  return { path, keys: tensors.map((t) => t.name), tensors: new Map(tensors.map((t) => [t.name, t])) };
}

/** A tensor as an NpyArray: NPY's readers take it from there (rows, values, worker segments). */
export async function safetensorsArray(
  file: SafetensorsFile,
  key: string,
): Promise<NpyArray & { file: NpyFile }> {
  const t = file.tensors.get(key);
  if (t === undefined) throw usage(`no tensor '${key}' in ${file.path}; it holds ${file.keys.join(", ")}`);
  const header: NpyHeader = {
    version: "safetensors",
    dtype: t.dtype,
    fortranOrder: false,
    shape: t.shape,
    dataOffset: t.offset,
  };
  const handle = await openFile(file.path);
  const npy: NpyFile = { path: `${file.path}:${key}`, header, handle, base: 0 };
  return {
    name: npy.path,
    header,
    file: npy,
    rows: (axis, chunkRows) => npyRows(npy, axis, chunkRows),
    values: (chunkRows) => npyValues(npy, chunkRows),
    close: () => handle.close(),
  };
}
