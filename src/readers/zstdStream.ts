import { ZSTDDecoder } from "zstddec/stream";

/**
 * zstd decoded a window at a time, for worker threads: libzstd's ZSTD_decompressStream from
 * zstddec's streaming build, driven here. Decoding a whole 32 MiB Arrow buffer with
 * ZSTD_decompress needs its compressed and decoded bytes in the WebAssembly heap at once (and
 * zstddec returns a copy): 514–634 MiB peak on the 800 MB bench file with two workers. Streamed,
 * the heap holds libzstd's window (a few MiB) and two 1 MiB buffers.
 *
 * zstddec's own `decodeStreaming` loops while input is left, and ZSTD_decompressStream returns an
 * error without consuming input: corrupt data would spin forever. So the loop is ours, and it needs
 * the module's exports, which zstddec keeps private: they are taken from its instantiation.
 */
interface StreamExports {
  memory: WebAssembly.Memory;
  malloc(n: number): number;
  free(p: number): void;
  ZSTD_createDCtx(): number;
  ZSTD_freeDCtx(dctx: number): number;
  ZSTD_decompressStream(dctx: number, output: number, input: number): number;
}

let exports: StreamExports | null = null;

/** What prepareZstdStream needs of the WebAssembly global (Node's types leave instantiate out). */
interface Instantiating {
  instantiate: (...args: unknown[]) => Promise<unknown>;
}

function exportsOf(result: unknown): Record<string, unknown> | null {
  const instance =
    result instanceof WebAssembly.Instance ? result : (result as { instance?: unknown })?.instance;
  return instance instanceof WebAssembly.Instance ? (instance.exports as Record<string, unknown>) : null;
}

/** Instantiates the streaming decoder (asynchronous: before the synchronous decoding). */
export async function prepareZstdStream(): Promise<void> {
  if (exports !== null) return;
  const global = WebAssembly as unknown as Instantiating;
  const instantiate = global.instantiate;
  let captured: Record<string, unknown> | null = null;
  // zstddec instantiates through WebAssembly.instantiate(bytes, imports): its result is seen on the
  // way back. Only an instance with the streaming exports is taken.
  global.instantiate = async (...args: unknown[]) => {
    const result = await instantiate.apply(WebAssembly, args);
    const found = exportsOf(result);
    if (
      found &&
      typeof found.ZSTD_decompressStream === "function" &&
      found.memory instanceof WebAssembly.Memory
    )
      captured = found;
    return result;
  };
  try {
    await new ZSTDDecoder().init();
  } finally {
    global.instantiate = instantiate;
  }
  if (captured === null) throw new Error("zstd: the streaming decoder's exports were not found");
  exports = captured as unknown as StreamExports;
}

/** Compressed bytes per read, and decoded bytes per call. */
const WINDOW = 1 << 20;

/**
 * A zstd stream of `length` bytes, handed over a window at a time by `read(offset, n)` (`window`:
 * bytes per read and per call; tests make it tiny), decoded on demand: fill() asks for the next
 * bytes, finish() checks that the stream ends there. A worker thus evaluates a batch's rows as
 * they are decoded and never holds the batch. Throws on libzstd's errors, on a frame cut short,
 * on bytes after it. close() frees the decoder's memory (always call it).
 */
export class ZstdStream {
  private readonly z: StreamExports;
  private readonly dctx: number;
  private readonly inPtr: number;
  private readonly outPtr: number;
  private readonly structs: number;
  private consumed = 0;
  private inSize = 0;
  private inPos = 0;
  /** Decoded bytes in the output window not handed out yet: [pending, wrote). */
  private pending = 0;
  private wrote = 0;
  /** ZSTD_decompressStream's last result: 0 when a frame has just ended and been flushed. */
  private hint = 1;
  private closed = false;

  constructor(
    private readonly read: (offset: number, n: number) => Uint8Array,
    private readonly length: number,
    private readonly window = WINDOW,
  ) {
    if (exports === null) throw new Error("the zstd streaming decoder was not prepared");
    const z = exports;
    this.z = z;
    this.dctx = z.ZSTD_createDCtx();
    this.inPtr = z.malloc(window);
    this.outPtr = z.malloc(window);
    // ZSTD_inBuffer {src, size, pos} and ZSTD_outBuffer {dst, size, pos}: three 32-bit words each.
    this.structs = z.malloc(24);
    if (this.dctx === 0 || this.inPtr === 0 || this.outPtr === 0 || this.structs === 0) {
      this.close();
      throw new Error("zstd: out of memory");
    }
  }

  /** Every compressed byte read and handed to the decoder. */
  private get drained(): boolean {
    return this.consumed === this.length && this.inPos === this.inSize;
  }

  /**
   * One call of the decoder: false when the stream has ended (every byte read, the frame ended
   * and flushed). Never called again after a frame's end with no input left: libzstd would wait
   * for another frame.
   */
  private step(): boolean {
    // 0: the frame ended and is flushed, even when that filled the output window.
    if (this.drained && this.hint === 0) return false;
    const { z, window } = this;
    if (this.inPos === this.inSize && this.consumed < this.length) {
      const n = Math.min(window, this.length - this.consumed);
      new Uint8Array(z.memory.buffer, this.inPtr, n).set(this.read(this.consumed, n).subarray(0, n));
      this.consumed += n;
      this.inSize = n;
      this.inPos = 0;
    }
    const inBuf = this.structs;
    const outBuf = this.structs + 12;
    let view = new DataView(z.memory.buffer);
    view.setUint32(inBuf, this.inPtr, true);
    view.setUint32(inBuf + 4, this.inSize, true);
    view.setUint32(inBuf + 8, this.inPos, true);
    view.setUint32(outBuf, this.outPtr, true);
    view.setUint32(outBuf + 4, window, true);
    view.setUint32(outBuf + 8, 0, true);
    // size_t results: libzstd's errors are -1 … -120 as 32-bit signed numbers.
    const ret = z.ZSTD_decompressStream(this.dctx, outBuf, inBuf) | 0;
    if (ret < 0) throw new Error(`corrupt zstd data (libzstd error ${-ret})`);
    view = new DataView(z.memory.buffer);
    const took = view.getUint32(inBuf + 8, true) - this.inPos;
    this.inPos += took;
    this.wrote = view.getUint32(outBuf + 8, true);
    this.pending = 0;
    this.hint = ret;
    if (took === 0 && this.wrote === 0) {
      // libzstd always reads or writes unless it failed: never spin on data it cannot take.
      if (!this.drained) throw new Error("corrupt zstd data (the decoder made no progress)");
      if (ret !== 0) throw new Error("a zstd frame cut short");
      return false;
    }
    return true;
  }

  /** The next `into.length` decoded bytes into `into`; throws if the stream ends first. */
  fill(into: Uint8Array): void {
    let at = 0;
    while (at < into.length) {
      if (this.pending === this.wrote && !this.step()) {
        if (this.hint !== 0) throw new Error("a zstd frame cut short");
        throw new Error(`a zstd stream decoding to ${at} of the ${into.length} bytes asked for`);
      }
      const n = Math.min(into.length - at, this.wrote - this.pending);
      into.set(new Uint8Array(this.z.memory.buffer, this.outPtr + this.pending, n), at);
      this.pending += n;
      at += n;
    }
  }

  /** Checks that nothing follows: no decoded byte left, every input byte read, the frame ended. */
  finish(expected: number): void {
    for (;;) {
      if (this.pending < this.wrote) throw new Error(`a zstd stream decoding to more than ${expected} bytes`);
      if (!this.step()) break;
    }
    if (this.hint !== 0) throw new Error("a zstd frame cut short");
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const { z } = this;
    if (this.dctx !== 0) z.ZSTD_freeDCtx(this.dctx);
    for (const p of [this.inPtr, this.outPtr, this.structs]) if (p !== 0) z.free(p);
  }
}
