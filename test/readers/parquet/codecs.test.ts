import { brotliCompressSync, gzipSync } from "node:zlib";
import { snappyCompress } from "hysnappy";
import { beforeAll, describe, expect, it } from "vitest";
import { decompress, prepareCodecs } from "../../../src/readers/parquet/codecs.js";

const text = Buffer.from("xent ".repeat(40));
/** `zstd --no-check` and `zstd` (with its XXH64 checksum) of `text`, by the zstd 1.5 CLI. */
const zstdFrame = Buffer.from("28b52ffd20c86500002878656e742001004050450b", "hex");
const zstdChecked = Buffer.from("28b52ffd24c86500002878656e742001004050450beb155a29", "hex");

describe("Parquet page codecs: exactly the stated size, or an error", () => {
  beforeAll(() => prepareCodecs(["ZSTD"]));

  it("decodes gzip, brotli, snappy and zstd pages", () => {
    expect(Buffer.from(decompress("GZIP", gzipSync(text), 200))).toEqual(text);
    expect(Buffer.from(decompress("BROTLI", brotliCompressSync(text), 200))).toEqual(text);
    expect(Buffer.from(decompress("SNAPPY", snappyCompress(text), 200))).toEqual(text);
    expect(Buffer.from(decompress("ZSTD", zstdFrame, 200))).toEqual(text);
    expect(Buffer.from(decompress("ZSTD", zstdChecked, 200))).toEqual(text);
    expect(decompress("UNCOMPRESSED", text, 200)).toBe(text);
  });

  it("refuses a page that decodes to another size than its header states", () => {
    expect(() => decompress("GZIP", gzipSync(text), 199)).toThrow();
    expect(() => decompress("GZIP", gzipSync(text), 201)).toThrow(
      /decodes to 200 bytes, its header says 201/,
    );
    expect(() => decompress("SNAPPY", snappyCompress(text), 201)).toThrow(/snappy data of 200 bytes/);
    expect(() => decompress("ZSTD", zstdFrame, 150)).toThrow(
      /a zstd frame of 200 bytes where 150 are expected/,
    );
    expect(() => decompress("UNCOMPRESSED", text, 100)).toThrow();
  });

  it("refuses corrupted data: a flipped checksum byte, a cut frame", () => {
    const flipped = Buffer.from(zstdChecked);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => decompress("ZSTD", flipped, 200)).toThrow();
    expect(() => decompress("ZSTD", zstdFrame.subarray(0, 15), 200)).toThrow();
    expect(() => decompress("GZIP", gzipSync(text).subarray(0, 20), 200)).toThrow();
  });

  it("refuses a stated size no codec could reach before allocating it", () => {
    expect(() => decompress("LZ4_RAW", Uint8Array.of(0x10, 0x41), 2 ** 30)).toThrow(/cannot decode to/);
    expect(() => decompress("SNAPPY", Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x04), 2 ** 30)).toThrow(
      /cannot decode to/,
    );
  });

  it("reads LZ4 raw blocks and Hadoop's framing of them", () => {
    // One LZ4 block: 5 literals "xent ", then a match of 15 + 176 + 4 = 195 bytes at offset 5.
    const raw = Uint8Array.of(0x5f, ...Buffer.from("xent "), 0x05, 0x00, 176);
    expect(Buffer.from(decompress("LZ4_RAW", raw, 200))).toEqual(text);
    const hadoop = Buffer.alloc(8 + raw.length);
    hadoop.writeUInt32BE(200, 0);
    hadoop.writeUInt32BE(raw.length, 4);
    hadoop.set(raw, 8);
    expect(Buffer.from(decompress("LZ4", hadoop, 200))).toEqual(text);
    expect(() => decompress("LZ4_RAW", raw.subarray(0, 6), 200)).toThrow();
  });
});
