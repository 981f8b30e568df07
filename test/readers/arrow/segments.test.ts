import { describe, expect, it } from "vitest";
import { COLUMN_SEGMENT_BYTES, columnSegmentRows } from "../../../src/readers/arrow/segments.js";

describe("columnSegmentRows: a segment of uncompressed class columns", () => {
  it("is whole blocks of --chunk-rows, about COLUMN_SEGMENT_BYTES of scores", () => {
    // The bench: 1,000 float32 columns, blocks of 1,048 rows, 200,000 rows: 4 blocks, 16 MiB.
    expect(columnSegmentRows(1048, 1000, 4, 200_000)).toBe(4 * 1048);
    expect(4 * 1048 * 1000 * 4).toBeLessThanOrEqual(COLUMN_SEGMENT_BYTES);
    expect(columnSegmentRows(1048, 1000, 8, 200_000)).toBe(2 * 1048);
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
