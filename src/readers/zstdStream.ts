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
 * A zstd stream of `length` bytes, handed over a window at a time by `read(offset, n)`, decoded
 * into `into` (`window`: bytes per read and per call; tests make it tiny): how many bytes it decoded (the caller checks that against what it needs). Throws
 * on libzstd's errors, on output past `into`'s end and on a frame cut short.
 */
export function decodeZstdStreamInto(
  read: (offset: number, n: number) => Uint8Array,
  length: number,
  into: Uint8Array,
  window = WINDOW,
): number {
  if (exports === null) throw new Error("the zstd streaming decoder was not prepared");
  const z = exports;
  const dctx = z.ZSTD_createDCtx();
  const inPtr = z.malloc(window);
  const outPtr = z.malloc(window);
  // ZSTD_inBuffer {src, size, pos} and ZSTD_outBuffer {dst, size, pos}: three 32-bit words each.
  const structs = z.malloc(24);
  if (dctx === 0 || inPtr === 0 || outPtr === 0 || structs === 0) {
    release(z, dctx, inPtr, outPtr, structs);
    throw new Error("zstd: out of memory");
  }
  const inBuf = structs;
  const outBuf = structs + 12;
  try {
    let view = new DataView(z.memory.buffer);
    let consumed = 0;
    let produced = 0;
    let inSize = 0;
    let inPos = 0;
    let hint = 1;
    for (;;) {
      if (inPos === inSize && consumed < length) {
        const n = Math.min(window, length - consumed);
        const bytes = read(consumed, n);
        new Uint8Array(z.memory.buffer, inPtr, n).set(bytes.subarray(0, n));
        consumed += n;
        inSize = n;
        inPos = 0;
      }
      view.setUint32(inBuf, inPtr, true);
      view.setUint32(inBuf + 4, inSize, true);
      view.setUint32(inBuf + 8, inPos, true);
      view.setUint32(outBuf, outPtr, true);
      view.setUint32(outBuf + 4, window, true);
      view.setUint32(outBuf + 8, 0, true);
      // size_t results: libzstd's errors are -1 … -120 as 32-bit signed numbers.
      const ret = z.ZSTD_decompressStream(dctx, outBuf, inBuf) | 0;
      if (ret < 0) throw new Error(`corrupt zstd data (libzstd error ${-ret})`);
      if (view.buffer !== z.memory.buffer) view = new DataView(z.memory.buffer);
      const took = view.getUint32(inBuf + 8, true) - inPos;
      const wrote = view.getUint32(outBuf + 8, true);
      inPos += took;
      hint = ret;
      if (wrote > 0) {
        if (produced + wrote > into.length)
          throw new Error(`a zstd stream decoding to more than ${into.length} bytes`);
        into.set(new Uint8Array(z.memory.buffer, outPtr, wrote), produced);
        produced += wrote;
      }
      // Done when every byte was read and the decoder has nothing left to flush: a full output
      // window may have more behind it, unless the frame just ended (0); called again then,
      // libzstd would wait for another frame.
      if (consumed === length && inPos === inSize && (wrote < window || ret === 0)) break;
      // libzstd always reads or writes unless it failed; never spin on data it cannot take.
      if (took === 0 && wrote === 0 && inPos < inSize)
        throw new Error("corrupt zstd data (the decoder made no progress)");
    }
    if (hint !== 0) throw new Error("a zstd frame cut short");
    return produced;
  } finally {
    release(z, dctx, inPtr, outPtr, structs);
  }
}

function release(z: StreamExports, dctx: number, ...pointers: number[]): void {
  if (dctx !== 0) z.ZSTD_freeDCtx(dctx);
  for (const p of pointers) if (p !== 0) z.free(p);
}
