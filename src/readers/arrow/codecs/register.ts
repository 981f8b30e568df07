import { CompressionType, compressionRegistry } from "apache-arrow";
import { decompress as zstdDecompress } from "fzstd";
import { XentError } from "../../../errors.js";
import { decodeZstd, zstdReady } from "../../zstd.js";
import { checkDecoded, decodeLz4Buffer, statedLength } from "./buffer.js";

let registered = false;

/**
 * The uncompressed length an Arrow IPC compressed buffer states: its first 8 bytes, which
 * apache-arrow strips before calling the codec. They are the 8 bytes before `data` in the body
 * (reader.mjs, _decompressBuffers: `bytes().subarray(COMPRESS_LENGTH_PREFIX)`).
 */
function stated(data: Uint8Array): number {
  if (data.byteOffset < 8)
    throw new XentError("format", "corrupt Arrow data: a compressed buffer without its length");
  const length = statedLength(new Uint8Array(data.buffer, data.byteOffset - 8, 8));
  // A stored buffer is not handed to a codec: −1 here is a corrupted length.
  if (length === -1) throw new XentError("format", "corrupt Arrow data: a compressed buffer states -1 bytes");
  return length;
}

/** A decoded buffer must be exactly as long as its buffer stated (buffer.ts checkDecoded). */
function checked(data: Uint8Array, decoded: Uint8Array): Uint8Array {
  checkDecoded(decoded.length, stated(data));
  return decoded;
}

/** Teaches apache-arrow to read LZ4- and ZSTD-compressed record batches (Feather V2's defaults). */
export function registerArrowCodecs(): void {
  if (registered) return;
  registered = true;
  compressionRegistry.set(CompressionType.LZ4_FRAME, {
    decode: (data) => checked(data, decodeLz4Buffer(data, stated(data))),
  });
  compressionRegistry.set(CompressionType.ZSTD, {
    decode: (data) => {
      // zstddec (faster) once a file's open has prepared it; fzstd for streams, whose codecs are
      // only known as they arrive.
      return checked(data, zstdReady() ? decodeZstd(data, stated(data)) : zstdDecompress(data));
    },
  });
}
