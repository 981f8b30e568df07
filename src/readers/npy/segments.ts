import type { DirectPlan, PositionalNpy, Segment, TargetSource } from "../types.js";

/**
 * Where worker threads read an NPY evaluation themselves: little-endian float32/64 logits in C
 * order with the class axis last, beside an NPY of index targets, cut into runs of `chunkRows`
 * rows at their byte offsets in both files. Null when the layout does not allow it (Fortran
 * order, another class axis, big-endian values, probability targets): then the rows
 * go through the reader and the same kernel on this thread or fed to workers.
 */
export function npySegments(
  p: PositionalNpy,
  classes: number,
  targets: TargetSource | null,
  chunkRows: number,
): DirectPlan | null {
  const t = rowOrderedTargets(targets);
  if (!t) return null;
  const { header } = p;
  // A 1-D array (one score per row) has its virtual class axis after the last.
  const contiguous = p.axis >= header.shape.length - 1 && (!header.fortranOrder || header.shape.length === 1);
  // float16 and bfloat16 too: the workers widen them to float32 as they read (worker.ts).
  const native = (header.dtype.kind === "f" || header.dtype.kind === "bf") && header.dtype.littleEndian;
  if (!contiguous || !native) return null;
  const rows = header.shape.reduce((a, b) => a * b, 1) / Math.max(1, classes);
  const segments: Segment[] = [];
  for (let start = 0; start < rows; start += chunkRows) {
    const n = Math.min(chunkRows, rows - start);
    const scoresAt = header.dataOffset + start * classes * header.dtype.size;
    segments.push({ start, rows: n, scoresAt, targetsAt: t.header.dataOffset + start * t.header.dtype.size });
  }
  return { segments, scores: header.dtype, targets: t.header.dtype, scoresPath: p.path, targetsPath: t.path };
}

/**
 * A targets NPY of class indices whose labels lie in row order (C order, or Fortran order with one
 * axis longer than 1), so that worker threads read a run of rows' labels at an offset; else null.
 */
export function rowOrderedTargets(targets: TargetSource | null): PositionalNpy | null {
  const t = targets?.positional;
  if (!t || targets?.kind !== "index") return null;
  if (t.header.fortranOrder && t.header.shape.filter((d) => d > 1).length > 1) return null;
  return t;
}
