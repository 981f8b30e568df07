import { CompressionType, compressionRegistry } from "apache-arrow";
import { decompress as zstdDecompress } from "fzstd";
import { decodeLz4Frame } from "./lz4Frame.js";

let registered = false;

/** How many buffers each codec has decoded: tells `xent inspect` what a file is compressed with. */
export const codecUse = { lz4: 0, zstd: 0 };

/** Teaches apache-arrow to read LZ4- and ZSTD-compressed record batches (Feather V2's defaults). */
export function registerArrowCodecs(): void {
  if (registered) return;
  registered = true;
  compressionRegistry.set(CompressionType.LZ4_FRAME, {
    decode: (data) => {
      codecUse.lz4++;
      return decodeLz4Frame(data);
    },
  });
  compressionRegistry.set(CompressionType.ZSTD, {
    decode: (data) => {
      codecUse.zstd++;
      return zstdDecompress(data);
    },
  });
}
