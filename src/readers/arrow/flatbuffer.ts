import type { XentError } from "../../errors.js";

/**
 * A flatbuffer table read with every offset, vtable and vector checked against the bytes it
 * lives in. apache-arrow's reader trusts these numbers (a vector count of 2^31 is decoded eagerly,
 * a bogus length loops), so xent reads metadata through this first and hands apache-arrow only
 * what passed.
 */
export class FlatTable {
  private readonly view: DataView;
  private readonly vtable: number;
  private readonly vtableSize: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly pos: number,
    private readonly fail: (why: string) => XentError,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.need(pos, 4);
    const vt = pos - this.view.getInt32(pos, true);
    this.need(vt, 4);
    this.vtable = vt;
    this.vtableSize = this.view.getUint16(vt, true);
    if (this.vtableSize < 4 || this.vtableSize % 2 !== 0) throw fail("a malformed flatbuffer vtable");
    this.need(vt, this.vtableSize);
    this.need(pos, this.view.getUint16(vt + 2, true));
  }

  /** The root table of a flatbuffer. */
  static root(bytes: Uint8Array, fail: (why: string) => XentError): FlatTable {
    if (bytes.length < 8) throw fail("flatbuffer metadata too short");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new FlatTable(bytes, view.getUint32(0, true), fail);
  }

  private need(at: number, size: number): void {
    if (!(at >= 0 && size >= 0 && at + size <= this.bytes.length))
      throw this.fail("an offset in the flatbuffer metadata points outside it");
  }

  /** Absolute position of field `i`, or null when absent. */
  private field(i: number): number | null {
    const slot = 4 + 2 * i;
    if (slot + 2 > this.vtableSize) return null;
    const off = this.view.getUint16(this.vtable + slot, true);
    return off === 0 ? null : this.pos + off;
  }

  u8(i: number, fallback = 0): number {
    const at = this.field(i);
    if (at === null) return fallback;
    this.need(at, 1);
    return this.view.getUint8(at);
  }

  i16(i: number, fallback = 0): number {
    const at = this.field(i);
    if (at === null) return fallback;
    this.need(at, 2);
    return this.view.getInt16(at, true);
  }

  i32(i: number, fallback = 0): number {
    const at = this.field(i);
    if (at === null) return fallback;
    this.need(at, 4);
    return this.view.getInt32(at, true);
  }

  /** An int64 field as a number; beyond ±2^53 it cannot be a real size or count. */
  i64(i: number, fallback = 0): number {
    const at = this.field(i);
    return at === null ? fallback : this.int64At(at);
  }

  int64At(at: number): number {
    this.need(at, 8);
    const v = this.view.getBigInt64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER))
      throw this.fail(`a size of ${v} in the metadata`);
    return Number(v);
  }

  private indirect(at: number): number {
    this.need(at, 4);
    return at + this.view.getUint32(at, true);
  }

  table(i: number): FlatTable | null {
    const at = this.field(i);
    return at === null ? null : new FlatTable(this.bytes, this.indirect(at), this.fail);
  }

  /** A vector of `elementSize`-byte elements: where its elements start and how many there are, both checked. */
  vector(i: number, elementSize: number): { start: number; length: number } | null {
    const at = this.field(i);
    if (at === null) return null;
    const v = this.indirect(at);
    this.need(v, 4);
    const length = this.view.getUint32(v, true);
    // A count the bytes cannot hold is the eager multi-gigabyte decode this guards against.
    if (length * elementSize > this.bytes.length - v - 4)
      throw this.fail(`a vector of ${length} elements in too few bytes`);
    return { start: v + 4, length };
  }

  /** Element `k` of a vector of tables. */
  tableAt(vector: { start: number }, k: number): FlatTable {
    return new FlatTable(this.bytes, this.indirect(vector.start + 4 * k), this.fail);
  }

  /** A string field, checked (its bytes are not decoded). */
  checkString(i: number): void {
    this.vector(i, 1);
  }
}
