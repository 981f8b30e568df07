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

/**
 * A line split at its delimiters, over the reader's buffer (valid until the next line is read).
 * The split parses each field's number on the way (Clinger's fast path, as parseAsciiNumber):
 * scanning a line once instead of twice took the 97 MB bench CSV from 1.79 s to 1.21 s (fastest of 7
 * runs each, back to back). A field the
 * fast path does not take is parsed by parseAsciiNumber when asked for, so number() is always
 * parseAsciiNumber's result.
 */
class ByteRow implements RowView {
  line = 0;
  width = 0;
  bytes: Uint8Array = new Uint8Array(0);
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  values = new Float64Array(64);
  /** 1 where `values` holds the field's number, 0 where parseAsciiNumber must decide. */
  parsed = new Uint8Array(64);

  number(column: number): number | undefined {
    if (this.parsed[column] === 1) return this.values[column];
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
    let i = start;
    for (;;) {
      const fieldStart = i;
      // -1 past the line's end, so every test below also stops there.
      let c = i < end ? bytes[i]! : -1;
      while (c === SPACE) c = ++i < end ? bytes[i]! : -1;
      let negative = false;
      if (c === 45 || c === 43) {
        negative = c === 45;
        c = ++i < end ? bytes[i]! : -1;
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
        c = ++i < end ? bytes[i]! : -1;
      }
      if (c === 46) {
        c = ++i < end ? bytes[i]! : -1;
        while (c >= 48 && c <= 57) {
          seen = true;
          if (digits > 0 || c !== 48) {
            mantissa = mantissa * 10 + (c - 48);
            digits++;
          }
          exponent--;
          c = ++i < end ? bytes[i]! : -1;
        }
      }
      let fast = seen;
      if (seen && (c === 101 || c === 69)) {
        c = ++i < end ? bytes[i]! : -1;
        let expNegative = false;
        if (c === 45 || c === 43) {
          expNegative = c === 45;
          c = ++i < end ? bytes[i]! : -1;
        }
        let value = 0;
        const first = i;
        while (c >= 48 && c <= 57 && value < 10000) {
          value = value * 10 + (c - 48);
          c = ++i < end ? bytes[i]! : -1;
        }
        if (i === first) fast = false;
        exponent += expNegative ? -value : value;
      }
      while (c === SPACE) c = ++i < end ? bytes[i]! : -1;
      if (c !== delimiter && c !== -1) {
        fast = false;
        while (c !== delimiter && c !== -1) {
          if (c === QUOTE) return false;
          c = ++i < end ? bytes[i]! : -1;
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
      } else this.parsed[n] = 0;
      n++;
      if (c === -1) break;
      i++;
    }
    this.width = n;
    return true;
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
): AsyncGenerator<RowView> {
  return splitRows(filePieces(path, onRead), path, delimiter, skip, maxRecord);
}

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
  const piece = new Uint8Array(PIECE);
  try {
    for (;;) {
      // A turn for the event loop every few MiB (signals; see evaluate.ts).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const n = readSync(fd, piece, 0, PIECE, null);
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
): AsyncGenerator<RowView> {
  const it = pieces[Symbol.asyncIterator]();
  const delim = delimiter.charCodeAt(0);
  let buffer = new Uint8Array(READ);
  // The buffer as a Buffer, for its indexOf: memchr in C++, where a Uint8Array's searches byte by
  // byte (126 ms of 1.2 s on the 97 MB bench CSV, for its 100,000 lines). The split itself reads
  // the Uint8Array: element reads through a Buffer ran 40% slower (487 vs 349 ms).
  let search = Buffer.from(buffer.buffer);
  let filled = 0;
  let eof = false;
  let line = 0;
  let skipped = 0;
  let bom = true;
  const row = new ByteRow();
  // Where the next \r is at or after a position (searched again only once passed): a file of \n
  // lines is scanned for \r once per buffer, not once per line.
  let cr = -2;
  const lineEnd = (pos: number): number => {
    if (cr !== -1 && cr < pos) {
      const found = search.indexOf(RETURN, pos);
      cr = found >= filled ? -1 : found;
    }
    const found = search.indexOf(NEWLINE, pos);
    const nl = found >= 0 && found < filled ? found : -1;
    // A \r ends a line unless a \n follows it (then the \n does); at the buffer's end, wait to see.
    if (cr >= 0 && (nl < 0 || cr < nl - 1)) return cr + 1 < filled || eof ? cr : -1;
    return nl;
  };
  try {
    for (;;) {
      if (!eof) {
        const next = await it.next();
        if (next.done) eof = true;
        else {
          const piece = next.value;
          if (filled + piece.length > buffer.length) {
            // A buffer past twice the record limit with no line end in it: refuse, do not grow.
            if (filled > maxRecord * 2)
              throw new XentError(
                "format",
                `a record longer than ${maxRecord} bytes (is this really a CSV file?)`,
                {
                  line: line + 1,
                },
              );
            let size = buffer.length;
            while (size < filled + piece.length) size *= 2;
            const bigger = new Uint8Array(size);
            bigger.set(buffer.subarray(0, filled));
            buffer = bigger;
            search = Buffer.from(buffer.buffer);
          }
          buffer.set(piece, filled);
          filled += piece.length;
          cr = -2;
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
      while (pos < filled) {
        let nl = lineEnd(pos);
        if (nl < 0) {
          if (!eof) break;
          nl = filled;
        }
        line++;
        let end = nl;
        if (buffer[nl] === NEWLINE && end > pos && buffer[end - 1] === RETURN) end--;
        if (end === pos) {
          pos = nl + 1;
          continue;
        }
        const header = skipped < skip;
        if (!header && end - pos > maxRecord) {
          throw new XentError(
            "format",
            `a record longer than ${maxRecord} bytes (is this really a CSV file?)`,
            {
              file: name,
              line,
            },
          );
        }
        // One line split in bytes, or (with a quote) csv-parse's record over one or more lines; a
        // header is only passed over (one with a quoted field over several lines is rare enough
        // for csv-parse's care).
        const plain = header
          ? !buffer.subarray(pos, end).includes(QUOTE)
          : row.split(buffer, pos, end, delim);
        let fields: string[] | null = null;
        let next = nl + 1;
        if (!plain) {
          const quoted = quotedAt(buffer, pos, filled, eof, delimiter, name, line);
          if (quoted === null) {
            line--;
            break;
          }
          line += quoted.lines - 1;
          next = quoted.next;
          fields = quoted.fields;
        }
        pos = next;
        if (header) {
          skipped++;
          continue;
        }
        if (fields === null) {
          row.line = line;
          yield row;
        } else yield new StringRow(fields, line);
      }
      if (eof && pos >= filled) return;
      buffer.copyWithin(0, pos, filled);
      filled -= pos;
      cr = -2;
      if (eof && filled === 0) return;
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
