/**
 * Text from an input file, made fit for a one-line error message: control characters (newlines
 * above all) escaped as JSON would, and anything past `max` characters cut with an ellipsis, so
 * that hostile input can neither break the line nor flood the terminal.
 */
export function quote(text: string, max = 60): string {
  return `'${escapeText(text, max)}'`;
}

/** The same, without the quotes (for names in lists). */
export function escapeText(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return named[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}
