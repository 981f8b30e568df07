import { closeSync, openSync, readSync } from "node:fs";
import { parse as parseSync } from "csv-parse/sync";
import { XentError } from "../../errors.js";
import { describeIoError } from "../files.js";
import { parseNumber } from "../parseNumber.js";
import { csvError } from "./records.js";

/** One record of a delimited file, as the CSV readers use it: numbers and text by column. */
export interface RowView {
  /** 1-based line where the record ends. */
  line: number;
  width: number;
  /** The field as a number, or undefined when it is not one (parseNumber's grammar). */
  number(column: number): number | undefined;
  text(column: number): string;
}

/** A record that csv-parse split into strings. */
export class StringRow implements RowView {
  constructor(
    private readonly fields: string[],
    readonly line: number,
  ) {}
  get width(): number {
    return this.fields.length;
  }
  number(column: number): number | undefined {
    return parseNumber(this.fields[column]!);
  }
  text(column: number): string {
    return this.fields[column]!;
  }
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const NEWLINE = 10;
const RETURN = 13;
const QUOTE = 34;
const SPACE = 32;

/**
 * A number straight from ASCII bytes: Clinger's fast path (at most 15 significant digits and a
 * power of ten up to 22, exactly representable, so one correctly rounded operation), which covers
 * what numpy, pandas and printf write; anything else goes through parseNumber on the text, so
 * the result is always Number()'s, bit for bit.
 */
export function parseAsciiNumber(b: Uint8Array, start: number, end: number): number | undefined {
  let i = start;
  while (i < end && b[i] === SPACE) i++;
  let e = end;
  while (e > i && b[e - 1] === SPACE) e--;
  let negative = false;
  if (i < e && (b[i] === 45 || b[i] === 43)) negative = b[i++] === 45;
  let mantissa = 0;
  let digits = 0;
  let exponent = 0;
  let seen = false;
  let c = b[i];
  while (i < e && c! >= 48 && c! <= 57) {
    seen = true;
    if (digits > 0 || c !== 48) {
      mantissa = mantissa * 10 + (c! - 48);
      digits++;
    }
    c = b[++i];
  }
  if (i < e && c === 46) {
    c = b[++i];
    while (i < e && c! >= 48 && c! <= 57) {
      seen = true;
      if (digits > 0 || c !== 48) {
        mantissa = mantissa * 10 + (c! - 48);
        digits++;
      }
      exponent--;
      c = b[++i];
    }
  }
  if (seen && i < e && (c === 101 || c === 69)) {
    let j = i + 1;
    let expNegative = false;
    if (j < e && (b[j] === 45 || b[j] === 43)) expNegative = b[j++] === 45;
    let value = 0;
    const first = j;
    while (j < e && b[j]! >= 48 && b[j]! <= 57 && value < 10000) value = value * 10 + (b[j++]! - 48);
    if (j === first) return slow(b, start, end);
    exponent += expNegative ? -value : value;
    i = j;
  }
  if (!seen || i !== e || digits > 15 || exponent > 22 || exponent < -22) return slow(b, start, end);
  const magnitude = exponent >= 0 ? mantissa * POW10[exponent]! : mantissa / POW10[-exponent]!;
  return negative ? -magnitude : magnitude;
}

function slow(b: Uint8Array, start: number, end: number): number | undefined {
  return parseNumber(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("latin1"));
}

/** A line split at its delimiters, over the reader's buffer (valid until the next line is read). */
class ByteRow implements RowView {
  line = 0;
  width = 0;
  bytes: Uint8Array = new Uint8Array(0);
  starts = new Int32Array(64);
  ends = new Int32Array(64);

  number(column: number): number | undefined {
    return parseAsciiNumber(this.bytes, this.starts[column]!, this.ends[column]!);
  }
  text(column: number): string {
    const s = this.starts[column]!;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + s, this.ends[column]! - s).toString("utf8");
  }
  /** Splits [start, end) of `bytes`; false when it holds a quote (csv-parse then takes the record). */
  split(bytes: Uint8Array, start: number, end: number, delimiter: number): boolean {
    this.bytes = bytes;
    let n = 0;
    let fieldStart = start;
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c === delimiter) {
        this.push(n++, fieldStart, i);
        fieldStart = i + 1;
      } else if (c === QUOTE) return false;
    }
    this.push(n++, fieldStart, end);
    this.width = n;
    return true;
  }
  private push(k: number, s: number, e: number): void {
    if (k >= this.starts.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.starts[k] = s;
    this.ends[k] = e;
  }
}

const READ = 1 << 22;

/**
 * The records of a delimited file as RowViews, split in bytes: the fast path for the numeric
 * CSV that models write. Lines with a quote (and, when a quoted field spans lines, the lines up
 * to its end) are handed to csv-parse, so quoting is read exactly as on the slow path. Blank
 * lines are skipped and the first `skip` records passed over (the header).
 */
export async function* fastRows(
  path: string,
  delimiter: string,
  skip: number,
  maxRecord: number,
  onRead?: (bytes: number) => void,
): AsyncGenerator<RowView> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new XentError("io", `cannot open: ${describeIoError(e)}`, { file: path });
  }
  const delim = delimiter.charCodeAt(0);
  let buffer = new Uint8Array(READ);
  let filled = 0;
  let eof = false;
  let line = 0;
  let skipped = 0;
  let bom = true;
  const row = new ByteRow();
  let total = 0;
  try {
    for (;;) {
      if (!eof && filled < buffer.length) {
        // A turn for the event loop every few MiB (signals; see evaluate.ts).
        await new Promise<void>((resolve) => setImmediate(resolve));
        const n = readSync(fd, buffer, filled, buffer.length - filled, null);
        if (n === 0) eof = true;
        filled += n;
        total += n;
        onRead?.(total);
        if (bom && filled >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) {
          buffer.copyWithin(0, 3, filled);
          filled -= 3;
        }
        bom = false;
      }
      let pos = 0;
      while (pos < filled) {
        let nl = buffer.indexOf(NEWLINE, pos);
        if (nl < 0 || nl >= filled) {
          if (!eof) break;
          nl = filled;
        }
        line++;
        let end = nl;
        if (end > pos && buffer[end - 1] === RETURN) end--;
        if (end === pos) {
          pos = nl + 1;
          continue;
        }
        if (skipped < skip) {
          // A header with a quoted field over several lines is rare enough for csv-parse's care.
          if (buffer.subarray(pos, end).includes(QUOTE)) {
            const quoted = quotedAt(buffer, pos, filled, eof, delimiter, path, line);
            if (quoted === null) break;
            line += quoted.lines - 1;
            pos = quoted.next;
          } else pos = nl + 1;
          skipped++;
          continue;
        }
        if (end - pos > maxRecord) {
          throw new XentError(
            "format",
            `a record longer than ${maxRecord} bytes (is this really a CSV file?)`,
            { file: path, line },
          );
        }
        if (row.split(buffer, pos, end, delim)) {
          row.line = line;
          yield row;
          pos = nl + 1;
        } else {
          const quoted = quotedAt(buffer, pos, filled, eof, delimiter, path, line);
          if (quoted === null) {
            line--;
            break;
          }
          line += quoted.lines - 1;
          pos = quoted.next;
          yield new StringRow(quoted.fields, line);
        }
      }
      if (pos >= filled && eof) return;
      // Keep the partial last line; grow the buffer when one line fills it.
      if (pos === 0 && filled === buffer.length) {
        if (buffer.length > maxRecord * 2)
          throw new XentError(
            "format",
            `a record longer than ${maxRecord} bytes (is this really a CSV file?)`,
            { file: path, line: line + 1 },
          );
        const bigger = new Uint8Array(buffer.length * 2);
        bigger.set(buffer.subarray(0, filled));
        buffer = bigger;
      } else {
        buffer.copyWithin(0, pos, filled);
        filled -= pos;
      }
      if (eof && filled === 0) return;
    }
  } catch (e) {
    throw e instanceof XentError && e.context.line === undefined ? e.at({ file: path, line: line + 1 }) : e;
  } finally {
    closeSync(fd);
  }
}

/** quotedRecord, with csv-parse's errors placed in the file (its line numbers count from the record). */
function quotedAt(
  buffer: Uint8Array,
  pos: number,
  filled: number,
  eof: boolean,
  delimiter: string,
  path: string,
  line: number,
) {
  try {
    return quotedRecord(buffer, pos, filled, eof, delimiter);
  } catch (e) {
    throw e instanceof XentError ? e.at({ file: path, line: line + (e.context.line ?? 1) - 1 }) : e;
  }
}

/**
 * The record starting at `pos`, parsed by csv-parse: it may span lines when a quoted field holds
 * a newline. Null when the buffer ends before the record does (read more and try again).
 */
function quotedRecord(buffer: Uint8Array, pos: number, filled: number, eof: boolean, delimiter: string) {
  let quotes = 0;
  let lines = 0;
  for (let i = pos; i < filled; i++) {
    const c = buffer[i];
    if (c === QUOTE) quotes++;
    else if (c === NEWLINE) {
      lines++;
      if (quotes % 2 === 0) return parsed(buffer, pos, i, i + 1, lines, delimiter);
    }
  }
  if (!eof) return null;
  return parsed(buffer, pos, filled, filled, lines + 1, delimiter);
}

function parsed(
  buffer: Uint8Array,
  pos: number,
  end: number,
  next: number,
  lines: number,
  delimiter: string,
) {
  const text = Buffer.from(buffer.buffer, buffer.byteOffset + pos, end - pos).toString("utf8");
  try {
    const records = parseSync(text, { delimiter, bom: false }) as string[][];
    return { fields: records[0] ?? [""], next, lines };
  } catch (e) {
    throw csvError(e);
  }
}
