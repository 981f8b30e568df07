import { ZSTDDecoder } from "zstddec";

/**
 * zstd for Parquet pages and Arrow record batch buffers: zstddec (libzstd's decoder in
 * WebAssembly; it checks frame checksums): 107–200 MB/s here on float32 data against fzstd's
 * 33–80 MB/s. Its instantiation is asynchronous: prepareZstd() before decoding.
 */
let zstd: ZSTDDecoder | null = null;

/** Whether prepareZstd() has run (synchronous callers fall back to fzstd before it). */
export const zstdReady = (): boolean => zstd !== null;

export async function prepareZstd(): Promise<void> {
  if (zstd !== null) return;
  const decoder = new ZSTDDecoder();
  await decoder.init();
  zstd = decoder;
}

/**
 * A zstd frame's stated content size (-1 when its header has none): data whose first frame
 * states more than the size expected is refused before the decoder allocates for it.
 */
function zstdContentSize(input: Uint8Array): number {
  if (input.length < 6 || input[0] !== 0x28 || input[1] !== 0xb5 || input[2] !== 0x2f || input[3] !== 0xfd)
    return -1;
  const fhd = input[4]!;
  const single = (fhd >> 5) & 1;
  const fcsBytes = [single, 2, 4, 8][fhd >> 6]!;
  if (fcsBytes === 0) return -1;
  const at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  if (at + fcsBytes > input.length) return -1;
  let n = 0;
  for (let k = 0; k < fcsBytes; k++) n += input[at + k]! * 2 ** (8 * k);
  return fcsBytes === 2 ? n + 256 : n;
}

/**
 * `input` decoded to `size` bytes. libzstd's errors (corrupt data, a checksum mismatch, a size
 * other than `size`) come back as a result of another length: the caller checks it.
 */
export function decodeZstd(input: Uint8Array, size: number): Uint8Array {
  if (zstd === null) throw new Error("the zstd decoder was not prepared");
  if (zstdContentSize(input) > size)
    throw new Error(`a zstd frame of ${zstdContentSize(input)} bytes where ${size} are expected`);
  return size === 0 ? new Uint8Array(0) : zstd.decode(input, size);
}
