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
  it("puts a large batch's rows in blocks of chunk rows, class by class, its targets after them", () => {
    // 10 rows × 3 float32 classes = 120 bytes > 100: spilled; 5 rows (60 bytes): left as is.
    const small = batch(10, 5);
    const r = spillSegments([batch(0, 10), small], 3, 4, 8, 4, settings, 2, plenty)!;
    const blocks = { at: 0, from: 0, to: 10, rows: 4, classes: 3 };
    expect(r.spill.units).toEqual([
      {
        buffers: [
          { at: 100, bytes: 11 },
          { at: 200, bytes: 12 },
          { at: 300, bytes: 13 },
        ],
        codec: "zstd",
        rows: 10,
        valueSize: 4,
        column: 0,
        blocks,
      },
      { buffers: [{ at: 9000, bytes: 77 }], codec: "zstd", rows: 10, valueSize: 8, to: 120 },
    ]);
    expect(r.spill.bytes).toBe(200);
    expect(r.spill.workers).toBe(2);
    // Blocks of 4, 4 and 2 rows: 48, 48 and 24 bytes.
    expect(r.segments.map((s) => [s.start, s.rows, s.scoresAt, s.targetsAt, s.spilled])).toEqual([
      [0, 4, 0, 120, { targets: true }],
      [4, 4, 48, 152, { targets: true }],
      [8, 2, 96, 184, { targets: true }],
      [10, 5, -1, 9010, undefined],
    ]);
    expect(r.segments.at(-1)).toBe(small);
  });

  it("keeps a targets file's place and only the rows --rows kept", () => {
    const external = batch(0, 10, { targetsBytes: undefined, targetsAt: 5000, keep: { from: 3, to: 7 } });
    const r = spillSegments([external], 3, 4, 8, 100, settings, 2, plenty)!;
    expect(r.spill.units).toHaveLength(1);
    expect(r.spill.units[0]!.blocks).toEqual({ at: 0, from: 3, to: 7, rows: 100, classes: 3 });
    expect(r.spill.bytes).toBe(48);
    expect(r.segments).toEqual([
      { start: 3, rows: 4, scoresAt: 0, targetsAt: 5024, spilled: { targets: false } },
    ]);
  });

  it("decodes long columns a few at a time (4 MiB of them), one at a time when two do not fit", () => {
    const rows = 2 ** 18; // 1 MiB of float32 a column: 4 to a run
    const columnsAt = Array.from({ length: 10 }, (_, j) => j * 1000);
    const long = batch(0, rows, { columnsAt, columnsBytes: columnsAt.map(() => 500) });
    const r = spillSegments([long], 10, 4, 8, 2 ** 16, settings, 2, plenty)!;
    expect(r.spill.units.map((u) => [u.column, u.buffers.length])).toEqual([
      [0, 4],
      [4, 4],
      [8, 2],
      [undefined, 1],
    ]);
    const longer = batch(0, 3 * rows, { columnsAt, columnsBytes: columnsAt.map(() => 500) });
    const one = spillSegments([longer], 10, 4, 8, 2 ** 16, settings, 2, plenty)!;
    expect(one.spill.units.filter((u) => u.blocks).map((u) => u.buffers.length)).toEqual(Array(10).fill(1));
  });

  it("is null when no batch is large, or when the disk lacks the copy and a margin", () => {
    expect(spillSegments([batch(0, 5)], 3, 4, 8, 4, settings, 2, plenty)).toBe(null);
    expect(spillSegments([batch(0, 10, { codec: undefined })], 3, 4, 8, 4, settings, 2, plenty)).toBe(null);
    expect(spillSegments([batch(0, 10)], 3, 4, 8, 4, settings, 2, () => 2 ** 20)).toBe(null);
  });
});
