import type { RowPositions } from "./types.js";

/**
 * Where a row sits in an input of more than two axes: its coordinates over every axis but the
 * class axis, so that a per-sample row of (B, T, V) logits reads `pos: [b, t]` and can be found.
 */

/** The coordinates of row `index` in C order over `shape` (the axes other than the class axis). */
export function unravel(index: number, shape: readonly number[]): number[] {
  const out: number[] = new Array(shape.length);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    out[d] = size === 0 ? 0 : rest % size;
    rest = size === 0 ? 0 : Math.floor(rest / size);
  }
  return out;
}

/** Rows [from, to) of a block's positions. */
export const slicePositions = (pos: RowPositions, from: number, to: number): RowPositions => ({
  dims: pos.dims,
  values: pos.values.subarray(from * pos.dims, to * pos.dims),
});

/** Row r's coordinates. */
export const positionAt = (pos: RowPositions, r: number): number[] =>
  Array.from(pos.values.subarray(r * pos.dims, (r + 1) * pos.dims));
