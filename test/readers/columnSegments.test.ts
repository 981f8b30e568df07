import { describe, expect, it } from "vitest";
import { COLUMN_SEGMENT_BYTES, columnSegmentRows, inPlaceRows } from "../../src/readers/columnSegments.js";

describe("columnSegmentRows: a segment of uncompressed class columns", () => {
  it("is whole blocks of --chunk-rows, about COLUMN_SEGMENT_BYTES of scores", () => {
    // The bench: 1,000 float32 columns, blocks of 1,048 rows, 200,000 rows: 2 blocks, 8 MiB.
    expect(columnSegmentRows(1048, 1000, 4, 200_000)).toBe(2 * 1048);
    expect(2 * 1048 * 1000 * 4).toBeLessThanOrEqual(COLUMN_SEGMENT_BYTES);
    expect(columnSegmentRows(1048, 1000, 8, 200_000)).toBe(1048);
  });

  it("leaves a batch 8 segments at least, so that threads have segments to take", () => {
    expect(columnSegmentRows(100, 10, 4, 1000)).toBe(100);
    expect(columnSegmentRows(7, 10, 4, 1000)).toBe(17 * 7);
  });

  it("is one block when a block alone is larger, or the batch is small", () => {
    expect(columnSegmentRows(1 << 15, 1000, 8, 1 << 20)).toBe(1 << 15);
    expect(columnSegmentRows(1048, 1000, 4, 10)).toBe(1048);
  });
});

describe("inPlaceRows: a segment of stored LZ4 class columns", () => {
  it("divides the block (64 KiB of float32: 16,384 rows) into segments of COLUMN_SEGMENT_BYTES at most", () => {
    expect(inPlaceRows(16384, 200_000, 1000, 4)).toBe(2048);
    expect(inPlaceRows(16384, 200_000, 10, 4)).toBe(16384);
  });

  it("takes any rows when every column is one block, and none when only slivers divide the block", () => {
    expect(inPlaceRows(50_000, 50_000, 1000, 4)).toBe(2097);
    expect(inPlaceRows(5003, 20_000, 1000, 4)).toBe(0); // 5003 is prime: 1-row segments
  });
});
