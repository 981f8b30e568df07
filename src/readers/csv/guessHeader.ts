import { parseNumber } from "../parseNumber.js";

/** What the first record of a table is: a header, data, or either (only the row counts can tell). */
export type HeaderGuess = "header" | "data" | "ambiguous";

/** How pandas writes an integer column name: plain digits, no sign, no leading zero. */
const INTEGER_NAME = /^(0|[1-9]\d*)$/;
const INTEGER = /^-?\d+$/;

/**
 * Whether the first record of a table is its header, from it and the record after it:
 * - any field that is not a number (an empty one included) makes it a header;
 * - distinct integer names (pandas writes `DataFrame(logits).to_csv()`'s RangeIndex as `0,1,…`)
 *   followed by a record with a non-integer field (`0.25`, `1.0`, `3e-2`: float data) make it
 *   a header, since float data does not start with a row of distinct plain integers;
 * - exactly the column positions `0,1,…,K−1` followed by integers only (or by nothing), as a
 *   one-column labels file `0\n3\n1…` written with or without pandas' header, is ambiguous: the
 *   caller decides from the other input's row count or asks for --header / --no-header;
 * - anything else is data.
 */
export function guessHeader(first: readonly string[], second: readonly string[] | undefined): HeaderGuess {
  const fields = first.map((f) => f.trim());
  if (fields.some((f) => parseNumber(f) === undefined)) return "header";
  if (!fields.every((f) => INTEGER_NAME.test(f))) return "data";
  if (new Set(fields).size !== fields.length) return "data";
  if (second?.some((f) => !INTEGER.test(f.trim()))) return "header";
  return fields.every((f, i) => f === String(i)) ? "ambiguous" : "data";
}
