import { slicePositions } from "./positions.js";
import type { RowBlock } from "./types.js";

/** Rows [from, to) of a block (numbered within it), every per-row field cut alike. */
export function sliceBlock(block: RowBlock, from: number, to: number): RowBlock {
  const C = block.classes;
  const t = block.targets;
  return {
    ...block,
    start: block.start + from,
    rows: to - from,
    scores: block.scores.subarray(from * C, to * C),
    targets:
      t.kind === "index"
        ? { kind: "index", values: t.values.subarray(from, to) }
        : { kind: "probs", values: t.values.subarray(from * C, to * C) },
    ids: block.ids?.slice(from, to),
    groups: block.groups?.slice(from, to),
    lines: block.lines?.subarray(from, to),
    pos: block.pos && slicePositions(block.pos, from, to),
    sequences: block.sequences?.subarray(from, to),
  };
}

/**
 * `--rows` / `--shard`: only rows [start, end) of the whole, keeping their numbers in the whole
 * (worst rows, per-sequence groups and bootstrap weights are the whole file's). Reading stops
 * after `end`, unless the range runs to the file's end (then the inputs' row counts are still
 * checked against each other).
 */
export async function* withinRows(
  blocks: AsyncIterable<RowBlock>,
  start: number,
  end: number,
): AsyncGenerator<RowBlock> {
  for await (const block of blocks) {
    const last = block.start + block.rows;
    if (last <= start) continue;
    if (block.start >= end) return;
    const from = Math.max(0, start - block.start);
    const to = Math.min(block.rows, end - block.start);
    yield from === 0 && to === block.rows ? block : sliceBlock(block, from, to);
  }
}
