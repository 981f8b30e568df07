const NUMBER = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/;
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/**
 * A decimal number as numpy, pandas and C's printf write them, including inf/-inf/nan; anything
 * else (an empty field, "1,5", "0x10", "1e", " ") is undefined. Number() alone would take "" as 0.
 */
export function parseNumber(text: string): number | undefined {
  // Only ASCII blanks, as the byte-level fast path (csv/fastRows.ts) reads them: String.trim() would
  // also take a non-breaking space, and a file would then read differently from standard input.
  const s = text.replace(/^[ \t]+|[ \t]+$/g, "");
  if (NUMBER.test(s)) return Number(s);
  const m = SPECIAL.exec(s);
  if (!m) return undefined;
  if (m[2]!.toLowerCase() === "nan") return Number.NaN;
  return m[1] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}
