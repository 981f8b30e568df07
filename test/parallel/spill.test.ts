import { describe, expect, it } from "vitest";
import { spillSegments } from "../../src/parallel/spill.js";
import type { Segment } from "../../src/readers/types.js";

const batch = (start: number, rows: number, extra: Partial<Segment> = {}): Segment => ({
  start,
  rows,
  scoresAt: -1,
  targetsAt: 9000 + start,
  codec: "zstd",
  targetsBytes: 77,
  columnsAt: [100 + start, 200 + start, 300 + start],
  columnsBytes: [11, 12, 13],
  ...extra,
});
const settings = { dir: "/tmp", minBytes: 100 };
const plenty = () => 2 ** 40;

describe("spillSegments", () => {
  it("lays each large batch out as its columns, then its targets, and cuts it into chunk-row segments", () => {
    // 10 rows × 3 float32 classes = 120 bytes > 100: spilled; 5 rows (60 bytes): left as is.
    const small = batch(10, 5);
    const r = spillSegments([batch(0, 10), small], 3, 4, 8, 4, settings, 2, plenty)!;
    expect(r.spill.units).toEqual([
      { at: 100, bytes: 11, codec: "zstd", size: 40, to: 0 },
      { at: 200, bytes: 12, codec: "zstd", size: 40, to: 40 },
      { at: 300, bytes: 13, codec: "zstd", size: 40, to: 80 },
      { at: 9000, bytes: 77, codec: "zstd", size: 80, to: 120 },
    ]);
    expect(r.spill.bytes).toBe(200);
    expect(r.spill.workers).toBe(2);
    expect(r.segments.map((s) => [s.start, s.rows, s.columnsAt, s.targetsAt, s.spilled])).toEqual([
      [0, 4, [0, 40, 80], 120, { targets: true }],
      [4, 4, [16, 56, 96], 152, { targets: true }],
      [8, 2, [32, 72, 112], 184, { targets: true }],
      [10, 5, [110, 210, 310], 9010, undefined],
    ]);
    expect(r.segments.at(-1)).toBe(small);
  });

  it("keeps a targets file's place and only the rows --rows kept", () => {
    const external = batch(0, 10, { targetsBytes: undefined, targetsAt: 5000, keep: { from: 3, to: 7 } });
    const r = spillSegments([external], 3, 4, 8, 100, settings, 2, plenty)!;
    expect(r.spill.units).toHaveLength(3);
    expect(r.spill.bytes).toBe(120);
    expect(r.segments).toEqual([
      {
        start: 3,
        rows: 4,
        scoresAt: -1,
        targetsAt: 5024,
        columnsAt: [12, 52, 92],
        spilled: { targets: false },
      },
    ]);
  });

  it("is null when no batch is large, or when the disk lacks the copy and a margin", () => {
    expect(spillSegments([batch(0, 5)], 3, 4, 8, 4, settings, 2, plenty)).toBe(null);
    expect(spillSegments([batch(0, 10, { codec: undefined })], 3, 4, 8, 4, settings, 2, plenty)).toBe(null);
    expect(spillSegments([batch(0, 10)], 3, 4, 8, 4, settings, 2, () => 2 ** 20)).toBe(null);
  });
});
