import { deserializeTCompactProtocol } from "hyparquet/src/thrift.js";
import { XentError } from "../../errors.js";

/**
 * Parquet's metadata is Thrift's compact protocol. hyparquet's decoder gives untyped
 * `field_N` objects; every field xent uses is read through a `Struct`, which checks its type
 * and range before anything trusts it (a corrupted footer must not become a huge allocation).
 */

type Raw = { [key: `field_${number}`]: unknown };

/** A compact-protocol struct at `at` of `bytes`, and where it ends; RangeError if it runs past them. */
export function decodeStruct(bytes: Uint8Array, at: number): { raw: Raw; end: number } {
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: at };
  const raw = deserializeTCompactProtocol(reader) as Raw;
  if (reader.offset > bytes.byteLength) throw new RangeError("struct runs past the bytes read");
  return { raw, end: reader.offset };
}

/**
 * The values a compact-protocol struct at `at` holds (fields and list elements, nested ones
 * included), counted without building them: every element costs its decoder ~70 bytes of objects
 * for as little as one byte of input (a 60 MB footer of empty structs took 4.3 GiB and 52 s), so
 * a footer is sized by this before it is decoded. RangeError when it runs past the bytes.
 */
export function countValues(bytes: Uint8Array, at: number, limit: number): number {
  let i = at;
  let count = 0;
  const byte = () => {
    if (i >= bytes.length) throw new RangeError("struct runs past the bytes read");
    return bytes[i++]!;
  };
  const varint = () => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const b = byte();
      if (shift < 35) n += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return n;
      if (shift > 63) throw new RangeError("varint too long");
    }
  };
  const value = (type: number, depth: number): void => {
    // Not a RangeError, which means "read more bytes" to the page header reader.
    if (++count > limit) throw new Error(`more than ${limit} values`);
    if (depth > 64) throw new RangeError("nested too deeply");
    switch (type) {
      case 1:
      case 2:
        return;
      case 3:
        i++;
        return;
      case 4:
      case 5:
      case 6:
        varint();
        return;
      case 7:
        i += 8;
        return;
      case 8: {
        const n = varint();
        if (i + n > bytes.length) throw new RangeError("binary past the bytes read");
        i += n;
        return;
      }
      case 9: {
        const head = byte();
        const n = head >> 4 === 15 ? varint() : head >> 4;
        for (let k = 0; k < n; k++) value((head & 15) === 2 ? 1 : head & 15, depth + 1);
        return;
      }
      case 12:
        struct(depth + 1);
        return;
      default:
        throw new RangeError(`thrift type ${type}`);
    }
  };
  const struct = (depth: number): void => {
    for (;;) {
      const head = byte();
      if (head === 0) return;
      if (head >> 4 === 0) varint();
      value(head & 15, depth);
    }
  };
  struct(0);
  if (i > bytes.length) throw new RangeError("struct runs past the bytes read");
  return count;
}

export class Struct {
  constructor(
    private readonly raw: Raw,
    /** Where this struct is, for messages ("row group 3, column 'x'"). */
    readonly where: string,
    private readonly file: string,
  ) {}

  fail(what: string): never {
    throw new XentError("format", `corrupt Parquet metadata: ${what} (${this.where})`, { file: this.file });
  }

  private get(id: number): unknown {
    return this.raw[`field_${id}`];
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** An i32/i64 field as a safe integer within [min, max]. */
  int(id: number, name: string, min: number, max: number): number;
  int(id: number, name: string, min: number, max: number, fallback: number | null): number | null;
  int(id: number, name: string, min: number, max: number, fallback?: number | null): number | null {
    const v = this.get(id);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      this.fail(`${name} is missing`);
    }
    const n = typeof v === "bigint" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max)
      this.fail(`${name} is ${String(v)}, expected an integer in [${min}, ${max}]`);
    return n;
  }

  bool(id: number, fallback: boolean): boolean {
    const v = this.get(id);
    return typeof v === "boolean" ? v : fallback;
  }

  string(id: number, name: string): string;
  string(id: number, name: string, optional: true): string | null;
  string(id: number, name: string, optional?: true): string | null {
    const v = this.get(id);
    if (v === undefined && optional) return null;
    if (!(v instanceof Uint8Array)) this.fail(`${name} is not a string`);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(v);
    } catch {
      this.fail(`${name} is not valid UTF-8`);
    }
  }

  struct(id: number, name: string, where?: string): Struct;
  struct(id: number, name: string, where: string, optional: true): Struct | null;
  struct(id: number, name: string, where = this.where, optional?: true): Struct | null {
    const v = this.get(id);
    if (v === undefined && optional) return null;
    if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array)
      this.fail(`${name} is not a struct`);
    return new Struct(v as Raw, where, this.file);
  }

  list(id: number, name: string): unknown[] {
    const v = this.get(id);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(`${name} is not a list`);
    return v;
  }

  structs(id: number, name: string, where: (i: number) => string): Struct[] {
    return this.list(id, name).map((v, i) => {
      if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array)
        this.fail(`${name}[${i}] is not a struct`);
      return new Struct(v as Raw, where(i), this.file);
    });
  }
}
