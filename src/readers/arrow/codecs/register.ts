import { CompressionType, compressionRegistry } from "apache-arrow";
import { decompress as zstdDecompress } from "fzstd";
import { XentError } from "../../../errors.js";
import { decodeZstd, zstdReady } from "../../zstd.js";
import { decodeLz4Frame } from "./lz4Frame.js";

let registered = false;

/** Buffers apache-arrow reads are below 2 GiB; a larger stated length is a corrupted file. */
const MAX_BUFFER = 2 ** 31 - 1;

/**
 * The uncompressed length an Arrow IPC compressed buffer states: its first 8 bytes, which
 * apache-arrow strips before calling the codec. They are the 8 bytes before `data` in the body
 * (reader.mjs, _decompressBuffers: `bytes().subarray(COMPRESS_LENGTH_PREFIX)`).
 */
function statedLength(data: Uint8Array): number {
  if (data.byteOffset < 8)
    throw new XentError("format", "corrupt Arrow data: a compressed buffer without its length");
  const stated = new DataView(data.buffer, data.byteOffset - 8, 8).getBigInt64(0, true);
  if (stated < 0n || stated > BigInt(MAX_BUFFER))
    throw new XentError("format", `corrupt Arrow data: a compressed buffer states ${stated} bytes`);
  return Number(stated);
}

/** A decoded buffer must be exactly as long as its buffer stated: a shorter one would read as fewer values. */
function checked(data: Uint8Array, decoded: Uint8Array): Uint8Array {
  const stated = statedLength(data);
  if (decoded.length !== stated) {
    throw new XentError(
      "format",
      `corrupt Arrow data: a compressed buffer decodes to ${decoded.length} bytes, it states ${stated}`,
    );
  }
  return decoded;
}

/** Teaches apache-arrow to read LZ4- and ZSTD-compressed record batches (Feather V2's defaults). */
export function registerArrowCodecs(): void {
  if (registered) return;
  registered = true;
  compressionRegistry.set(CompressionType.LZ4_FRAME, {
    decode: (data) => {
      // The hint is capped at LZ4's expansion limit (255:1): a stated length is not trusted with an allocation.
      return checked(data, decodeLz4Frame(data, Math.min(statedLength(data), data.length * 255 + 64)));
    },
  });
  compressionRegistry.set(CompressionType.ZSTD, {
    decode: (data) => {
      // zstddec (faster) once a file's open has prepared it; fzstd for streams, whose codecs are
      // only known as they arrive.
      return checked(data, zstdReady() ? decodeZstd(data, statedLength(data)) : zstdDecompress(data));
    },
  });
}
