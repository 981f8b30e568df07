import { describe, expect, it } from "vitest";
import { parseNpyHeader } from "../../../src/readers/npy/header.js";
import { npySegments } from "../../../src/readers/npy/segments.js";
import type { PositionalNpy, TargetSource } from "../../../src/readers/types.js";
import { npyBytes } from "../../helpers/files.js";

const npy = (shape: number[], descr: string, fortran = false, axis = shape.length - 1): PositionalNpy => ({
  path: `${descr}.npy`,
  header: parseNpyHeader(
    npyBytes(new Array(shape.reduce((a, b) => a * b, 1)).fill(0), shape, descr, fortran),
  ),
  axis,
});
const targets = (t: PositionalNpy, kind: "index" | "probs" = "index"): TargetSource => ({
  info: { path: t.path, format: "npy", kind },
  kind,
  positional: t,
  chunks: async function* () {},
  [Symbol.asyncDispose]: async () => {},
});

describe("npySegments: where worker threads read an NPY evaluation", () => {
  it("cuts the rows into runs at their byte offsets in both files", () => {
    const p = npy([10, 3], "<f4");
    const t = npy([10], "<i8");
    const plan = npySegments(p, 3, targets(t), 4)!;
    expect(plan.segments).toEqual([
      { start: 0, rows: 4, scoresAt: p.header.dataOffset, targetsAt: t.header.dataOffset },
      {
        start: 4,
        rows: 4,
        scoresAt: p.header.dataOffset + 4 * 3 * 4,
        targetsAt: t.header.dataOffset + 4 * 8,
      },
      {
        start: 8,
        rows: 2,
        scoresAt: p.header.dataOffset + 8 * 3 * 4,
        targetsAt: t.header.dataOffset + 8 * 8,
      },
    ]);
    expect([plan.scoresPath, plan.targetsPath]).toEqual(["<f4.npy", "<i8.npy"]);
  });

  it("declines what workers cannot read in place: Fortran order, another class axis, integers, big-endian, probabilities, no targets file", () => {
    const t = targets(npy([4], "<i8"));
    expect(npySegments(npy([4, 3], "<f4", true), 3, t, 2)).toBeNull();
    expect(npySegments(npy([4, 3], "<f4", false, 0), 4, t, 2)).toBeNull();
    expect(npySegments(npy([4, 3], "<i4"), 3, t, 2)).toBeNull();
    expect(npySegments(npy([4, 3], ">f4"), 3, t, 2)).toBeNull();
    expect(npySegments(npy([4, 3], "<f8"), 3, targets(npy([4, 3], "<f8"), "probs"), 2)).toBeNull();
    expect(npySegments(npy([4, 3], "<f8"), 3, null, 2)).toBeNull();
  });
});
