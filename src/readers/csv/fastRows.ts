import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { parse as parseSync } from "csv-parse/sync";
import { XentError } from "../../errors.js";
import { describeIoError } from "../files.js";
import { parseNumber } from "../parseNumber.js";
import { csvError, recordTooLong } from "./records.js";

/** One record of a delimited file, as the CSV readers use it: numbers and text by column. */
export interface RowView {
  /** 1-based line where the record ends. */
  line: number;
  width: number;
  /** The field as a number, or undefined when it is not one (parseNumber's grammar). */
  number(column: number): number | undefined;
  text(column: number): string;
  /**
   * The numbers of `columns` into `out` from `at`: how many were numbers (columns.length when all
   * were; else the first that is not is columns[returned]).
   */
  numbers(columns: Int32Array, out: Float64Array, at: number): number;
}

function numbersOf(row: RowView, columns: Int32Array, out: Float64Array, at: number): number {
  for (let j = 0; j < columns.length; j++) {
    const v = row.number(columns[j]!);
    if (v === undefined) return j;
    out[at + j] = v;
  }
  return columns.length;
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
  numbers(columns: Int32Array, out: Float64Array, at: number): number {
    return numbersOf(this, columns, out, at);
  }
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const NEWLINE = 10;
const RETURN = 13;
const QUOTE = 34;
const SPACE = 32;

function slow(b: Uint8Array, start: number, end: number): number | undefined {
  return parseNumber(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("latin1"));
}

const LINE_GOES_ON = -1;
const HAS_QUOTE = -2;

/**
 * A line split at its delimiters, over the reader's buffer (valid until the next line is read).
 * The split parses each field's number on the way (Clinger's fast path: see parseAsciiNumber):
 * scanning a line once instead of twice took the 97 MB bench CSV from 1.79 s to 1.21 s (fastest
 * of 7 runs each, back to back). A field the fast path does not take is parsed from its text by
 * parseNumber when asked for, so number() is always Number()'s result.
 */
class ByteRow implements RowView {
  line = 0;
  width = 0;
  bytes: Uint8Array = new Uint8Array(0);
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  values = new Float64Array(64);
  /** 1 where `values` holds the field's number, 0 where parseNumber must decide (slow()). */
  parsed = new Uint8Array(64);

  number(column: number): number | undefined {
    if (this.parsed[column] === 1) return this.values[column];
    return slow(this.bytes, this.starts[column]!, this.ends[column]!);
  }
  text(column: number): string {
    const s = this.starts[column]!;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + s, this.ends[column]! - s).toString("utf8");
  }
  /** Fields the split did not parse (text, or beyond its fast path). */
  unparsed = 0;
  private lastColumns: Int32Array | null = null;
  /** columns[0] when `lastColumns` are consecutive columns, else -1. */
  private run = -1;

  /** A row's scores in one call; consecutive columns all parsed (the usual scores) in one copy. */
  numbers(columns: Int32Array, out: Float64Array, at: number): number {
    if (columns !== this.lastColumns) {
      this.lastColumns = columns;
      let consecutive = true;
      for (let j = 1; j < columns.length; j++) if (columns[j] !== columns[0]! + j) consecutive = false;
      this.run = consecutive && columns.length > 0 ? columns[0]! : -1;
    }
    if (this.unparsed === 0 && this.run >= 0) {
      out.set(this.values.subarray(this.run, this.run + columns.length), at);
      return columns.length;
    }
    const { parsed, values } = this;
    for (let j = 0; j < columns.length; j++) {
      const c = columns[j]!;
      if (parsed[c] === 1) out[at + j] = values[c]!;
      else {
        const v = slow(this.bytes, this.starts[c]!, this.ends[c]!);
        if (v === undefined) return j;
        out[at + j] = v;
      }
    }
    return columns.length;
  }
  /**
   * Splits the line starting at `start`: where it ends (its \n or \r), LINE_GOES_ON when `limit`
   * comes first (the whole line is split up to it), HAS_QUOTE at a quote (csv-parse then takes the
   * record). Finding the line's end in the same pass matters for short lines: a search per line
   * cost 126 ms of 1.2 s on the bench CSV as Uint8Array.indexOf, and Buffer.indexOf costs 0.4 µs a
   * call.
   */
  split(bytes: Uint8Array, start: number, limit: number, delimiter: number): number {
    this.bytes = bytes;
    let n = 0;
    let unparsed = 0;
    let i = start;
    for (;;) {
      const fieldStart = i;
      // -1 at the limit, so every test below also stops there.
      let c = i < limit ? bytes[i]! : -1;
      while (c === SPACE) c = ++i < limit ? bytes[i]! : -1;
      let negative = false;
      if (c === 45 || c === 43) {
        negative = c === 45;
        c = ++i < limit ? bytes[i]! : -1;
      }
      let mantissa = 0;
      let digits = 0;
      let exponent = 0;
      let seen = false;
      while (c >= 48 && c <= 57) {
        seen = true;
        if (digits > 0 || c !== 48) {
          mantissa = mantissa * 10 + (c - 48);
          digits++;
        }
        c = ++i < limit ? bytes[i]! : -1;
      }
      if (c === 46) {
        c = ++i < limit ? bytes[i]! : -1;
        while (c >= 48 && c <= 57) {
          seen = true;
          if (digits > 0 || c !== 48) {
            mantissa = mantissa * 10 + (c - 48);
            digits++;
          }
          exponent--;
          c = ++i < limit ? bytes[i]! : -1;
        }
      }
      let fast = seen;
      if (seen && (c === 101 || c === 69)) {
        c = ++i < limit ? bytes[i]! : -1;
        let expNegative = false;
        if (c === 45 || c === 43) {
          expNegative = c === 45;
          c = ++i < limit ? bytes[i]! : -1;
        }
        let value = 0;
        const first = i;
        while (c >= 48 && c <= 57 && value < 10000) {
          value = value * 10 + (c - 48);
          c = ++i < limit ? bytes[i]! : -1;
        }
        if (i === first) fast = false;
        exponent += expNegative ? -value : value;
      }
      while (c === SPACE) c = ++i < limit ? bytes[i]! : -1;
      if (c !== delimiter && c !== -1 && c !== NEWLINE && c !== RETURN) {
        fast = false;
        while (c !== delimiter && c !== -1 && c !== NEWLINE && c !== RETURN) {
          if (c === QUOTE) return HAS_QUOTE;
          c = ++i < limit ? bytes[i]! : -1;
        }
      }
      if (digits > 15 || exponent > 22 || exponent < -22) fast = false;
      if (n >= this.starts.length) this.grow();
      this.starts[n] = fieldStart;
      this.ends[n] = i;
      if (fast) {
        const magnitude = exponent >= 0 ? mantissa * POW10[exponent]! : mantissa / POW10[-exponent]!;
        this.values[n] = negative ? -magnitude : magnitude;
        this.parsed[n] = 1;
      } else {
        this.parsed[n] = 0;
        unparsed++;
      }
      n++;
      if (c !== delimiter) break;
      i++;
    }
    this.width = n;
    this.unparsed = unparsed;
    return i < limit ? i : LINE_GOES_ON;
  }
  private grow(): void {
    const size = this.starts.length * 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    const values = new Float64Array(size);
    const parsed = new Uint8Array(size);
    starts.set(this.starts);
    ends.set(this.ends);
    values.set(this.values);
    parsed.set(this.parsed);
    this.starts = starts;
    this.ends = ends;
    this.values = values;
    this.parsed = parsed;
  }
}

/** A field split alone (no byte is this delimiter): parseAsciiNumber's fast path is the split's. */
const single = new ByteRow();
const NO_DELIMITER = 256;

/**
 * A number straight from ASCII bytes: Clinger's fast path (at most 15 significant digits and a
 * power of ten up to 22, exactly representable, so one correctly rounded operation), which covers
 * what numpy, pandas and printf write — ByteRow.split's, which parses a line's fields as it splits
 * them; anything else goes through parseNumber on the text, so the result is always Number()'s,
 * bit for bit.
 */
export function parseAsciiNumber(b: Uint8Array, start: number, end: number): number | undefined {
  if (single.split(b, start, end, NO_DELIMITER) === LINE_GOES_ON && single.parsed[0] === 1)
    return single.values[0];
  return slow(b, start, end);
}

const READ = 1 << 22;
/** A file is read in pieces a quarter of the core's buffer, so a piece and a line's rest fit without growing it. */
const PIECE = READ >> 2;

/**
 * The records of a delimited file from a path: the file read in 1 MiB pieces and split by
 * splitRows, as a stream is.
 */
export function fastRows(
  path: string,
  delimiter: string,
  skip: number,
  maxRecord: number,
  onRead?: (bytes: number) => void,
  passOver = 0,
): AsyncGenerator<RowView, number> {
  return splitRows(filePieces(path, onRead), path, delimiter, skip, maxRecord, passOver);
}

/**
 * The records of a delimited file, counted without being split (a quoted record still goes
 * through csv-parse, whose record may span lines).
 */
export async function countFileRecords(path: string, delimiter: string, maxRecord: number): Promise<number> {
  const records = fastRows(path, delimiter, 0, maxRecord, undefined, Number.POSITIVE_INFINITY);
  for (;;) {
    const next = await records.next();
    if (next.done) return next.value;
  }
}

const sizeOf = (fd: number): number => {
  try {
    return fstatSync(fd).size;
  } catch {
    return PIECE;
  }
};

/** A file in PIECE-byte pieces, read synchronously (faster than a read stream's callbacks here). */
async function* filePieces(path: string, onRead?: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new XentError("io", `cannot open: ${describeIoError(e)}`, { file: path });
  }
  let total = 0;
  // One buffer for every piece: splitRows copies a piece before it asks for the next (a new 4 MiB
  // buffer per piece left ~25 MiB of garbage on the 97 MB bench file).
  // A small file gets a small buffer: two 1 MiB buffers per pass (the header pass, the data
  // pass, each file) were garbage a collection had to find at every start.
  const piece = new Uint8Array(Math.max(1, Math.min(PIECE, sizeOf(fd) + 1)));
  try {
    for (;;) {
      // A turn for the event loop every few MiB (signals; see evaluate.ts).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const n = readSync(fd, piece, 0, piece.length, null);
      if (n === 0) return;
      total += n;
      onRead?.(total);
      yield piece.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The one CSV core: records of delimited text from bytes in pieces of any size (a file's, standard
 * input's, a pipe's), split in bytes — the fast path for the numeric CSV models write. Lines end at
 * \n, \r\n or a lone \r (old Mac files, as csv-parse reads them). Lines with a quote (and, when a
 * quoted field spans lines, the lines up to its end) are handed to csv-parse, so quoting is read
 * exactly as csv-parse reads it. A UTF-8 byte-order mark is dropped, blank lines are skipped and
 * the first `skip` records passed over (the header). The RowView yielded is reused: read it before
 * asking for the next.
 */
export async function* splitRows(
  pieces: AsyncIterable<Uint8Array>,
  name: string,
  delimiter: string,
  skip: number,
  maxRecord: number,
  passOver = 0,
): AsyncGenerator<RowView, number> {
  const it = pieces[Symbol.asyncIterator]();
  const delim = delimiter.charCodeAt(0);
  // Grown to READ by the first pieces of a large input (doubling: a few small copies).
  let buffer = new Uint8Array(1 << 16);
  let filled = 0;
  let eof = false;
  let line = 0;
  let skipped = 0;
  /** Data records passed over (`passOver`): counted, not split nor yielded. */
  let passed = 0;
  let bom = true;
  const row = new ByteRow();
  try {
    for (;;) {
      if (!eof) {
        const next = await it.next();
        if (next.done) eof = true;
        else {
          const piece = next.value;
          if (filled + piece.length > buffer.length) {
            // A buffer past twice the record limit with no line end in it: refuse, do not grow.
            if (filled > maxRecord * 2) throw recordTooLong(maxRecord, { line: line + 1 });
            let size = buffer.length;
            while (size < filled + piece.length) size *= 2;
            const bigger = new Uint8Array(size);
            bigger.set(buffer.subarray(0, filled));
            buffer = bigger;
          }
          buffer.set(piece, filled);
          filled += piece.length;
          if (bom) {
            if (filled < 3) continue;
            if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) {
              buffer.copyWithin(0, 3, filled);
              filled -= 3;
            }
            bom = false;
          }
        }
      }
      let pos = 0;
      // Passing over records: line ends by memchr, and where the next quote and \r are (searched
      // again once passed), so a plain line is counted without being split.
      const search = Buffer.from(buffer.buffer, 0, filled);
      let quoteAt = -1;
      let crAt = -1;
      while (pos < filled) {
        const header = skipped < skip;
        if (!header && passed < passOver) {
          const nl = search.indexOf(NEWLINE, pos);
          if (quoteAt !== filled && quoteAt < pos) quoteAt = found(search.indexOf(QUOTE, pos), filled);
          if (crAt !== filled && crAt < pos) crAt = found(search.indexOf(RETURN, pos), filled);
          // A line with a quote (csv-parse's record may go on) or a lone \r takes the path below.
          if (nl >= 0 && quoteAt > nl && (crAt > nl || crAt === nl - 1)) {
            const end = crAt === nl - 1 ? nl - 1 : nl;
            line++;
            if (end - pos > maxRecord) throw recordTooLong(maxRecord, { file: name, line });
            if (end > pos) passed++;
            pos = nl + 1;
            continue;
          }
        }
        const start = pos;
        let end = row.split(buffer, pos, filled, delim);
        if (end === HAS_QUOTE) {
          // csv-parse's record over one or more lines (a header is only passed over).
          const quoted = quotedAt(buffer, pos, filled, eof, delimiter, name, line + 1);
          if (quoted === null) break;
          line += quoted.lines;
          pos = quoted.next;
          if (header) skipped++;
          else if (passed < passOver) passed++;
          else yield new StringRow(quoted.fields, line);
          continue;
        }
        let next: number;
        if (end === LINE_GOES_ON) {
          if (!eof) break;
          end = filled;
          next = filled;
        } else if (buffer[end] === RETURN) {
          // A \r ends a line, with the \n after it if there is one: at the buffer's end, wait to see.
          if (end + 1 === filled && !eof) break;
          next = buffer[end + 1] === NEWLINE && end + 1 < filled ? end + 2 : end + 1;
        } else next = end + 1;
        line++;
        pos = next;
        if (end === start) continue;
        if (!header && end - start > maxRecord) throw recordTooLong(maxRecord, { file: name, line });
        if (header) {
          skipped++;
          continue;
        }
        if (passed < passOver) {
          passed++;
          continue;
        }
        row.line = line;
        yield row;
      }
      if (eof && pos >= filled) return passed;
      buffer.copyWithin(0, pos, filled);
      filled -= pos;
      if (eof && filled === 0) return passed;
    }
  } catch (e) {
    // An error of the bytes' source (a read, a decompressor) already names the file, and the line
    // the parser had reached says nothing about it.
    throw e instanceof XentError && e.context.line === undefined && e.context.file === undefined
      ? e.at({ file: name, line: line + 1 })
      : e;
  } finally {
    await it.return?.();
  }
}

/** An indexOf result, with "not found" as `none`. */
const found = (at: number, none: number): number => (at < 0 ? none : at);

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
