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
