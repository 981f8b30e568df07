import { type Data, DataType } from "apache-arrow";
import type { RowPositions } from "../../core/types.js";
import { XentError } from "../../errors.js";

/**
 * A column of lists of lists (one list of positions per sequence, each a list of V scores, or a
 * list of token ids per sequence) read as tokens: the rows xent evaluates are the inner lists, in
 * order, each with its [sequence, position]. This is how a language model's outputs are kept in
 * Arrow or Parquet when sequences have different lengths (no padding to a (B, T, V) block).
 */

export const isListType = (t: DataType): boolean =>
  DataType.isList(t) || DataType.isLargeList(t) || DataType.isFixedSizeList(t);
/** list<list<float>> (any mix of list, large list and fixed-size list). */
export const isNestedFloatList = (t: DataType): boolean =>
  isListType(t) && isListType(t.children[0]!.type) && DataType.isFloat(t.children[0]!.type.children[0]!.type);
/** list<int>: one token id per position of a sequence. */
export const isIntList = (t: DataType): boolean => isListType(t) && DataType.isInt(t.children[0]!.type);

/**
 * Where each of a batch's `rows` sequences starts among the inner lists (rows + 1 entries, in the
 * child's index space), checked: a null sequence is an error naming it, and offsets must not go
 * back or past the inner lists (a corrupted file could make a token read twice or from nowhere).
 */
export function sequenceOffsets(data: Data, rows: number, firstSequence: number, name: string): Float64Array {
  const out = new Float64Array(rows + 1);
  const childLength = data.children[0]!.length;
  if (DataType.isFixedSizeList(data.type)) {
    const size = data.type.listSize;
    for (let i = 0; i <= rows; i++) out[i] = (data.offset + i) * size;
  } else {
    const offsets = data.valueOffsets as Int32Array | BigInt64Array;
    for (let i = 0; i <= rows; i++) out[i] = Number(offsets[data.offset + i]!);
  }
  for (let i = 0; i < rows; i++) {
    if (data.nullCount > 0 && !data.getValid(i))
      throw new XentError("value", `null list of positions in sequence ${firstSequence + i}`, { file: name });
    if (out[i + 1]! < out[i]! || out[i + 1]! > childLength)
      throw new XentError(
        "format",
        `corrupt list offsets in sequence ${firstSequence + i}: positions ${out[i]} to ${out[i + 1]} of ${childLength}`,
        { file: name },
      );
  }
  return out;
}

/** Tokens [from, from + n) of a batch: each one's sequence (batch row) and position in it. */
export interface TokenRun {
  /** The first token, in the inner lists' index space. */
  from: number;
  n: number;
  /** Each token's row in the batch. */
  rows: Int32Array;
  sequences: Float64Array;
  pos: RowPositions;
}

/** A batch's tokens in runs of at most `chunkRows`, a sequence split across runs where it must. */
export function* tokenRuns(
  offsets: Float64Array,
  firstSequence: number,
  chunkRows: number,
): Generator<TokenRun> {
  const rowCount = offsets.length - 1;
  const end = offsets[rowCount]!;
  let row = 0;
  for (let from = offsets[0]!; from < end; from += chunkRows) {
    const n = Math.min(chunkRows, end - from);
    const rows = new Int32Array(n);
    const sequences = new Float64Array(n);
    const pos = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      const token = from + k;
      while (offsets[row + 1]! <= token) row++;
      rows[k] = row;
      sequences[k] = firstSequence + row;
      pos[2 * k] = firstSequence + row;
      pos[2 * k + 1] = token - offsets[row]!;
    }
    yield { from, n, rows, sequences, pos: { dims: 2, values: pos } };
  }
}

/**
 * A list column of targets beside a list-of-lists column of scores: every sequence must have as
 * many labels as positions. Returns how far the targets' tokens are from the scores' tokens.
 */
export function sameLengths(
  scores: Float64Array,
  targets: Float64Array,
  firstSequence: number,
  column: string,
  name: string,
): number {
  for (let i = 0; i + 1 < scores.length; i++) {
    const a = scores[i + 1]! - scores[i]!;
    const b = targets[i + 1]! - targets[i]!;
    if (a !== b)
      throw new XentError(
        "shape",
        `sequence ${firstSequence + i} has ${a} positions of scores and ${b} labels in column '${column}'`,
        { file: name },
      );
  }
  return targets[0]! - scores[0]!;
}
