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
  it("puts every compressed batch of class columns in blocks of chunk rows, class by class, its targets after them", () => {
    // 120 + 60 bytes of decoded float32 scores > 100: both batches go; an uncompressed one stays.
    const plain: Segment = { start: 15, rows: 2, scoresAt: 7, targetsAt: 8, columnsAt: [1, 2, 3] };
    const r = spillSegments([batch(0, 10), batch(10, 5), plain], 3, 4, 8, 4, settings, 2, plenty)!;
    expect(r.spill!.units).toEqual([
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
        blocks: { at: 0, from: 0, to: 10, rows: 4, classes: 3 },
      },
      { buffers: [{ at: 9000, bytes: 77 }], codec: "zstd", rows: 10, valueSize: 8, to: 120 },
      {
        buffers: [
          { at: 110, bytes: 11 },
          { at: 210, bytes: 12 },
          { at: 310, bytes: 13 },
        ],
        codec: "zstd",
        rows: 5,
        valueSize: 4,
        column: 0,
        blocks: { at: 200, from: 0, to: 5, rows: 4, classes: 3 },
      },
      { buffers: [{ at: 9010, bytes: 77 }], codec: "zstd", rows: 5, valueSize: 8, to: 260 },
    ]);
    expect(r.spill!.bytes).toBe(300);
    expect(r.spill!.workers).toBe(2);
    // Blocks of 4, 4 and 2 rows (48, 48 and 24 bytes), then 4 and 1.
    expect(r.segments.map((s) => [s.start, s.rows, s.scoresAt, s.targetsAt, s.spilled])).toEqual([
      [0, 4, 0, 120, { scores: true, targets: true }],
      [4, 4, 48, 152, { scores: true, targets: true }],
      [8, 2, 96, 184, { scores: true, targets: true }],
      [10, 4, 200, 260, { scores: true, targets: true }],
      [14, 1, 248, 292, { scores: true, targets: true }],
      [15, 2, 7, 8, undefined],
    ]);
    expect(r.segments.at(-1)).toBe(plain);
  });

  it("keeps a targets file's place and only the rows --rows kept", () => {
    const external = batch(0, 10, { targetsBytes: undefined, targetsAt: 5000, keep: { from: 3, to: 7 } });
    const r = spillSegments([external], 3, 4, 8, 100, settings, 2, plenty)!;
    expect(r.spill!.units).toHaveLength(1);
    expect(r.spill!.units[0]!.blocks).toEqual({ at: 0, from: 3, to: 7, rows: 100, classes: 3 });
    expect(r.spill!.bytes).toBe(48);
    expect(r.segments).toEqual([
      { start: 3, rows: 4, scoresAt: 0, targetsAt: 5024, spilled: { scores: true, targets: false } },
    ]);
  });

  it("decodes long columns a few at a time (4 MiB of them), one at a time when two do not fit", () => {
    const rows = 2 ** 18; // 1 MiB of float32 a column: 4 to a run
    const columnsAt = Array.from({ length: 10 }, (_, j) => j * 1000);
    const long = batch(0, rows, { columnsAt, columnsBytes: columnsAt.map(() => 500) });
    const r = spillSegments([long], 10, 4, 8, 2 ** 16, settings, 2, plenty)!;
    expect(r.spill!.units.map((u) => [u.column, u.buffers.length])).toEqual([
      [0, 4],
      [4, 4],
      [8, 2],
      [undefined, 1],
    ]);
    const longer = batch(0, 3 * rows, { columnsAt, columnsBytes: columnsAt.map(() => 500) });
    const one = spillSegments([longer], 10, 4, 8, 2 ** 16, settings, 2, plenty)!;
    expect(one.spill!.units.filter((u) => u.blocks).map((u) => u.buffers.length)).toEqual(Array(10).fill(1));
  });

  it("is null when the batches hold little, or when the disk lacks the copy and a margin", () => {
    expect(spillSegments([batch(0, 5)], 3, 4, 8, 4, settings, 2, plenty)).toBe(null);
    expect(spillSegments([batch(0, 10, { codec: undefined })], 3, 4, 8, 4, settings, 2, plenty)).toBe(null);
    expect(spillSegments([batch(0, 10)], 3, 4, 8, 4, settings, 2, () => 2 ** 20)).toBe(null);
  });

  it("reads stored LZ4 columns in place: segments within a block, only the targets decoded", () => {
    // Blocks of 6 rows; 3 float32 columns; the 2nd column is one block (stored as is).
    const stored = { blockRows: 6, blocks: [[1000, 2000, 3000], [4000], [5000, 6000, 7000]] };
    const s = batch(0, 14, { codec: "lz4", stored, keep: { from: 2, to: 14 } });
    const r = spillSegments([s], 3, 4, 8, 4, settings, 2, plenty)!;
    expect(r.spill!.units).toEqual([
      { buffers: [{ at: 9000, bytes: 77 }], codec: "lz4", rows: 14, valueSize: 8, to: 0 },
    ]);
    expect(r.spill!.bytes).toBe(14 * 8);
    // Segments of 6 rows (a divisor of the block), cut at rows 2 (--rows) and 14 (the batch's end):
    // [start, rows, targetsAt, columnsAt].
    const expected = [
      [2, 4, 16, [1008, 4008, 5008]],
      [6, 6, 48, [2000, 4024, 6000]],
      [12, 2, 96, [3000, 4048, 7000]],
    ] as const;
    expect(r.segments).toEqual(
      expected.map(([start, rows, targetsAt, columnsAt]) => ({
        start,
        rows,
        scoresAt: -1,
        targetsAt,
        columnsAt,
        spilled: { scores: false, targets: true },
      })),
    );
  });

  it("needs no temporary file for stored LZ4 columns beside a targets file", () => {
    const stored = { blockRows: 20, blocks: [[1000], [2000], [3000]] };
    const s = batch(0, 20, { codec: "lz4", stored, targetsBytes: undefined, targetsAt: 500 });
    const r = spillSegments([s], 3, 4, 8, 4, settings, 2, () => 0)!;
    expect(r.spill).toBe(null);
    expect(r.segments).toEqual([
      { start: 0, rows: 20, scoresAt: -1, targetsAt: 500, columnsAt: [1000, 2000, 3000] },
    ]);
  });
});
