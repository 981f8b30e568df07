import { XentError } from "../errors.js";
import { quote } from "../quote.js";
import type { PredictionSource, TargetSource } from "./types.js";

/**
 * Decides every ambiguous first record (see guessHeader) from the row counts: a table with one
 * record more than the other input has a header, one with as many has none. When the other
 * input's rows cannot be counted (standard input, the same file, an Arrow stream) or the counts
 * fit neither, the user is asked to say it with --header / --no-header: a guess here would be a
 * plausible wrong number (one label more or less shifts every row).
 */
export async function settleHeaders(
  predictions: PredictionSource,
  targets: TargetSource | null,
): Promise<void> {
  const sides: [PredictionSource | TargetSource, PredictionSource | TargetSource | null][] = [
    [predictions, targets],
    [targets ?? predictions, predictions],
  ];
  for (const [side, other] of targets ? sides : sides.slice(0, 1)) {
    const pending = side.pendingHeader;
    if (!pending) continue;
    const theirs =
      other && other !== side && !other.pendingHeader ? ((await other.countRows?.()) ?? null) : null;
    const ours = theirs === null ? null : await pending.records();
    const ask = `pass ${pending.flag}header if it is a header or ${pending.flag}no-header if it is data`;
    if (ours === null || theirs === null) {
      throw new XentError(
        "usage",
        `cannot tell whether the first row (${quote(pending.first, 40)}) is a header or data: ${ask}`,
        { file: pending.file },
      );
    }
    if (ours === theirs) pending.settle(false);
    else if (ours === theirs + 1) pending.settle(true);
    else {
      throw new XentError(
        "shape",
        `row counts differ: ${pending.file} has ${ours} rows (${ours - 1} if its first row ${quote(pending.first, 40)} is a header), ${other!.info.path} has ${theirs}`,
      );
    }
    side.pendingHeader = undefined;
  }
}
