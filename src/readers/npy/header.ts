import { XentError } from "../../errors.js";

export interface NpyDtype {
  /** 'f' float, 'i' signed integer, 'u' unsigned integer, 'bf' bfloat16 (safetensors' BF16). */
  kind: "f" | "i" | "u" | "bf";
  /** Bytes per element. */
  size: number;
  littleEndian: boolean;
  /** numpy's name: float32, int64, … */
  name: string;
}

export interface NpyHeader {
  version: string;
  dtype: NpyDtype;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the first element. */
  dataOffset: number;
}

export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Bytes needed to know the header's full length. */
export const NPY_PREAMBLE = 12;

/** The header's total length (magic to data) from its first 12 bytes. */
export function npyHeaderLength(preamble: Uint8Array): number {
  if (preamble.length < 10 || !NPY_MAGIC.equals(preamble.subarray(0, 6))) {
    throw new XentError("format", "not an NPY file (no \\x93NUMPY magic)");
  }
  const major = preamble[6]!;
  const view = new DataView(preamble.buffer, preamble.byteOffset, preamble.byteLength);
  let length: number;
  if (major === 1) length = 10 + view.getUint16(8, true);
  else if (major === 2 || major === 3) {
    if (preamble.length < 12) throw new XentError("format", "truncated NPY header");
    length = 12 + view.getUint32(8, true);
  } else throw new XentError("format", `unsupported NPY format version ${major}.${preamble[7]}`);
  // numpy itself refuses headers over 10,000 bytes; a hostile length must not make xent read gigabytes.
  if (length > MAX_HEADER)
    throw new XentError("format", `NPY header of ${length} bytes is larger than ${MAX_HEADER}`);
  return length;
}

const MAX_HEADER = 1 << 16;

/** Parses the header (its first `npyHeaderLength` bytes) and checks it is one xent can read. */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const dataOffset = npyHeaderLength(bytes);
  if (bytes.length < dataOffset) throw new XentError("format", "truncated NPY header");
  const major = bytes[6]!;
  const textStart = major === 1 ? 10 : 12;
  const text = Buffer.from(bytes.subarray(textStart, dataOffset)).toString(major === 3 ? "utf8" : "latin1");
  const dict = parsePythonDict(text);
  const descr = dict.get("descr");
  const fortran = dict.get("fortran_order");
  const shape = dict.get("shape");
  if (typeof descr !== "string") {
    throw new XentError("format", "NPY header has no simple 'descr' (structured dtypes are not supported)");
  }
  if (typeof fortran !== "boolean") throw new XentError("format", "NPY header has no 'fortran_order'");
  if (!Array.isArray(shape)) throw new XentError("format", "NPY header has no 'shape' tuple");
  return {
    version: `${major}.${bytes[7]}`,
    dtype: parseDescr(descr),
    fortranOrder: fortran,
    shape,
    dataOffset,
  };
}

function parseDescr(descr: string): NpyDtype {
  // numpy's bool is one byte, 0 or 1: read as uint8 (any other byte is an out-of-range target).
  if (descr === "|b1") return { kind: "u", size: 1, littleEndian: true, name: "bool" };
  const m = /^([<>|=])([fiu])(\d+)$/.exec(descr);
  const size = m ? Number(m[3]) : 0;
  const kind = m?.[2] as NpyDtype["kind"] | undefined;
  const ok = kind === "f" ? [2, 4, 8].includes(size) : kind !== undefined && [1, 2, 4, 8].includes(size);
  if (!m || !kind || !ok) {
    throw new XentError(
      "format",
      `unsupported NPY dtype '${descr}' (expected float16/32/64, an integer type or bool)`,
    );
  }
  // '=' is native order, which numpy never writes to a file; '|' is for single bytes.
  const littleEndian = m[1] !== ">";
  const name = `${kind === "f" ? "float" : kind === "i" ? "int" : "uint"}${size * 8}`;
  return { kind, size, littleEndian, name };
}

type PyValue = string | boolean | number | number[] | null;

/** The small subset of Python literal syntax numpy writes: {'k': 'str', 'k': True, 'k': (1, 2), }. */
function parsePythonDict(text: string): Map<string, PyValue> {
  let i = 0;
  const fail = (what: string): never => {
    throw new XentError(
      "format",
      `malformed NPY header: ${what} at character ${i} of ${JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text)}`,
    );
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (ch: string) => {
    ws();
    if (text[i] !== ch) fail(`expected '${ch}'`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') return fail("expected a string");
    const end = text.indexOf(q, i + 1);
    if (end < 0) fail("unterminated string");
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const value = (): PyValue => {
    ws();
    const ch = text[i];
    if (ch === "'" || ch === '"') return str();
    if (ch === "(") {
      i++;
      const items: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ")") {
          i++;
          return items;
        }
        const m = /^\d+L?/.exec(text.slice(i));
        if (!m) return fail("expected a non-negative integer in the shape");
        items.push(Number.parseInt(m[0], 10));
        i += m[0].length;
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== ")") fail("expected ',' or ')'");
      }
    }
    for (const [word, v] of [
      ["True", true],
      ["False", false],
      ["None", null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    // A list here is a structured dtype's descr.
    return fail("unexpected value");
  };
  const out = new Map<string, PyValue>();
  expect("{");
  for (;;) {
    ws();
    if (text[i] === "}") break;
    const key = str();
    expect(":");
    out.set(key, value());
    ws();
    if (text[i] === ",") i++;
    else if (text[i] !== "}") fail("expected ',' or '}'");
  }
  return out;
}
