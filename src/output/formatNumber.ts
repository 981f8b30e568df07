/**
 * A number for reading: 5 significant digits (6 with `digits`), an exponent below 1e-4 and from
 * 1e6 up, whole numbers as they are, words for non-finite values. JSON keeps full precision.
 */
export function formatNumber(x: number | null | undefined, digits = 5): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "nan";
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return x.toExponential(digits - 2);
  return x.toPrecision(digits);
}

/**
 * Pads numbers so that their decimal points line up in a right-aligned column: "0.74635" over
 * "12.000" becomes " 0.74635" over "12.000  ". Exponent forms and words are aligned as whole numbers.
 */
export function alignDecimals(cells: readonly string[]): string[] {
  const split = cells.map((c) => {
    const dot = /^-?\d+\.\d+$/.test(c) ? c.indexOf(".") : c.length;
    return [c.slice(0, dot), c.slice(dot)] as const;
  });
  const left = Math.max(...split.map(([l]) => l.length));
  const right = Math.max(...split.map(([, r]) => r.length));
  return split.map(([l, r]) => l.padStart(left) + r.padEnd(right));
}
