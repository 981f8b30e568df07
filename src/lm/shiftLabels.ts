import type { RowBlock } from "../core/types.js";
import { usage } from "../errors.js";

/**
 * `--shift-labels`: causal language models' targets as Hugging Face's `ForCausalLMLoss` takes
 * them: position t of a sequence is scored against the label at t + 1, the last position of every
 * sequence against nothing (the ignore index). Rows are positions in C order, `length` per
 * sequence; a block's last row needs the next block's first label, so each block is handed on
 * once the next one has arrived.
 */
export async function* shiftLabels(
  blocks: AsyncIterable<RowBlock>,
  length: number,
  ignoreIndex: number,
): AsyncGenerator<RowBlock> {
  let held: RowBlock | null = null;
  const finish = (block: RowBlock, next: number | null): RowBlock => {
    if (block.targets.kind !== "index")
      throw usage("--shift-labels takes class indices (token ids), not probabilities");
    const from = block.targets.values;
    const to = new Float64Array(block.rows);
    for (let r = 0; r < block.rows; r++) {
      const row = block.start + r;
      const last = (row + 1) % length === 0;
      to[r] = last ? ignoreIndex : r + 1 < block.rows ? from[r + 1]! : (next ?? ignoreIndex);
    }
    return { ...block, targets: { kind: "index", values: to } };
  };
  for await (const block of blocks) {
    if (held !== null) {
      const first = block.targets.kind === "index" && block.rows > 0 ? block.targets.values[0]! : null;
      yield finish(held, first);
    }
    held = block;
  }
  if (held !== null) yield finish(held, null);
}

/** `--per-sequence`: each row's sequence (its index over every axis before the position axis). */
export async function* withSequences(
  blocks: AsyncIterable<RowBlock>,
  length: number,
): AsyncGenerator<RowBlock> {
  for await (const block of blocks) {
    const groups: string[] = new Array(block.rows);
    for (let r = 0; r < block.rows; r++) groups[r] = String(Math.floor((block.start + r) / length));
    yield { ...block, groups };
  }
}
