import { escapeText } from "./quote.js";

/**
 * The one error type of xent. Anything thrown as an XentError is reported as
 * `xent: error: <message>, <where>` with exit code 2; anything else is a bug.
 */

export type ErrorCode =
  | "usage" // bad flags or flag values
  | "io" // a file cannot be opened or read
  | "format" // the bytes are not a valid file of the format
  | "shape" // shapes, row counts or class counts do not agree
  | "value" // a value is not allowed (NaN score, target out of range, negative probability)
  | "empty"; // a mean over nothing

export interface ErrorContext {
  /** The file as the user named it. */
  file?: string;
  /** 1-based physical line (text formats). */
  line?: number;
  /** 1-based column number. */
  column?: number;
  /** The column's name, when it has one. */
  columnName?: string;
  /** 0-based sample index, the same number as `index` in per-sample output. */
  row?: number;
}

export class XentError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message);
    this.name = "XentError";
    this.code = code;
    this.context = context;
  }

  /** A copy with more context; what the new context names wins. */
  at(context: ErrorContext): XentError {
    return new XentError(this.code, this.message, { ...this.context, ...context });
  }

  /** `what, file.csv line 12, column 3 (score_2)`: the text after `xent: error: `. */
  describe(): string {
    const where: string[] = [];
    const { file, line, column, columnName, row } = this.context;
    if (file !== undefined) where.push(file);
    if (line !== undefined) where.push(`line ${line}`);
    if (row !== undefined) where.push(line === undefined ? `row ${row}` : `(row ${row})`);
    if (column !== undefined) where.push(`column ${column}${columnName ? ` (${columnName})` : ""}`);
    else if (columnName !== undefined) where.push(`column '${columnName}'`);
    // Messages quote input (names, fields, library messages): escaped and cut, so that an error
    // is always one line of bounded length whatever the input holds.
    const message = escapeText(this.message, 300);
    return where.length === 0 ? message : `${message}, ${escapeText(where.join(" "), 300)}`;
  }
}

export function usage(message: string): XentError {
  return new XentError("usage", message);
}
