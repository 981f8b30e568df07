import type { RowBlock } from "../core/types.js";
import { usage, XentError } from "../errors.js";

/**
 * Language-model block transforms. Every row is a token; `block.sequences` holds its sequence
 * number (a fixed (B, T, V) layout's from withSequenceNumbers, a list-of-lists column's from its
 * reader), so that both layouts shift and group the same way.
 */

/**
 * Each row's sequence number for a fixed layout of `length` positions per sequence. Sequence
 * numbers a list column of targets brought are checked against them: a labels file cut into
 * sequences of other lengths would pair tokens with the wrong labels.
 */
export async function* withSequenceNumbers(
  blocks: AsyncIterable<RowBlock>,
  length: number,
  targetsName: string,
): AsyncGenerator<RowBlock> {
  for await (const block of blocks) {
    const sequences = new Float64Array(block.rows);
    for (let r = 0; r < block.rows; r++) sequences[r] = Math.floor((block.start + r) / length);
    const given = block.sequences;
    if (given) {
      for (let r = 0; r < block.rows; r++) {
        if (given[r] !== sequences[r]) {
          throw new XentError(
            "shape",
            `token ${block.start + r} is in sequence ${given[r]} of ${targetsName} but in sequence ${sequences[r]} of the predictions, whose sequences have ${length} positions`,
          );
        }
      }
    }
    yield { ...block, sequences };
  }
}

const sequencesOf = (block: RowBlock): Float64Array => {
  // plan.ts starts a language-model run only on layouts that give every row its sequence.
  if (!block.sequences) throw new Error("a language-model block without sequence numbers");
  return block.sequences;
};

/**
 * `--shift-labels`: causal language models' targets as Hugging Face's `ForCausalLMLoss` takes
 * them: position t of a sequence is scored against the label at t + 1, the last position of every
 * sequence against nothing (the ignore index). A block's last row needs the next block's first
 * label and sequence, so each block is handed on once the next one has arrived.
 */
export async function* shiftLabels(
  blocks: AsyncIterable<RowBlock>,
  ignoreIndex: number,
): AsyncGenerator<RowBlock> {
  let held: RowBlock | null = null;
  const finish = (block: RowBlock, next: RowBlock | null): RowBlock => {
    if (block.targets.kind !== "index")
      throw usage("--shift-labels takes class indices (token ids), not probabilities");
    const from = block.targets.values;
    const sequences = sequencesOf(block);
    const rows = block.rows;
    const nextLabel = next && next.rows > 0 && next.targets.kind === "index" ? next.targets.values[0]! : null;
    const nextSequence = next && next.rows > 0 ? sequencesOf(next)[0]! : null;
    const to = shiftedTargets(
      rows,
      (r) => (r < rows ? from[r]! : (nextLabel ?? ignoreIndex)),
      (r) => (r < rows ? sequences[r]! : nextSequence),
      ignoreIndex,
    );
    return { ...block, targets: { kind: "index", values: to } };
  };
  for await (const block of blocks) {
    if (held !== null) yield finish(held, block);
    held = block;
  }
  if (held !== null) yield finish(held, null);
}

/**
 * The shift itself, for blocks and for worker threads reading a (B, T, V) file alike: row r of
 * `rows` is scored against the label of row r + 1 when that row is in its sequence, else against
 * nothing. `label(r)` and `sequence(r)` for r in [0, rows]; `sequence(rows)` is null where the
 * input ends.
 */
export function shiftedTargets(
  rows: number,
  label: (r: number) => number,
  sequence: (r: number) => number | null,
  ignoreIndex: number,
): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = sequence(r + 1) === sequence(r) ? label(r + 1) : ignoreIndex;
  return out;
}

/** `--per-sequence`: each row's group is its sequence. */
export async function* withSequences(blocks: AsyncIterable<RowBlock>): AsyncGenerator<RowBlock> {
  for await (const block of blocks) {
    const sequences = sequencesOf(block);
    const groups: string[] = new Array(block.rows);
    for (let r = 0; r < block.rows; r++) groups[r] = String(sequences[r]);
    yield { ...block, groups };
  }
}
