import { XXH64_WASM } from "./wasm/xxh64Binary.js";

interface Exports {
  memory: WebAssembly.Memory;
  reset(): void;
  stripes(n: number): void;
  digest(len: number, total: bigint): bigint;
}

let compiled: WebAssembly.Module | undefined;

/** Bytes hashed per call: the memory holds the lanes, then this much data from byte 64. */
const CALL = 1 << 16;

/**
 * XXH64 (seed 0) of a byte stream, fed in pieces of any size (scripts/xxh64.wat.mjs): what a zstd
 * frame's content checksum is made of.
 */
export class Xxh64 {
  private readonly e: Exports;
  private readonly data: Uint8Array;
  private pending = 0;
  private total = 0;

  constructor() {
    compiled ??= new WebAssembly.Module(Buffer.from(XXH64_WASM, "base64"));
    this.e = new WebAssembly.Instance(compiled, {}).exports as unknown as Exports;
    if (this.e.memory.buffer.byteLength < 64 + CALL) this.e.memory.grow(Math.ceil((64 + CALL) / 65536));
    this.data = new Uint8Array(this.e.memory.buffer, 64, CALL);
    this.e.reset();
  }

  update(bytes: Uint8Array): void {
    this.total += bytes.length;
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(CALL - this.pending, bytes.length - at);
      this.data.set(bytes.subarray(at, at + n), this.pending);
      this.pending += n;
      at += n;
      const stripes = this.pending >>> 5;
      if (stripes === 0) continue;
      this.e.stripes(stripes);
      const used = stripes << 5;
      this.data.copyWithin(0, used, this.pending);
      this.pending -= used;
    }
  }

  /** The 64-bit hash of everything fed so far. */
  digest(): bigint {
    return BigInt.asUintN(64, this.e.digest(this.pending, BigInt(this.total)));
  }
}
