import { Readable } from "node:stream";
import { CsvError, parse } from "csv-parse";
import { type ErrorContext, XentError } from "../../errors.js";
import type { ByteSource } from "../byteSource.js";
import { describeIoError } from "../files.js";

/**
 * Characters one record may take: a row of 131,072 scores written with %.7g (~1.8 MB) fits easily,
 * while a file with no newlines, or one absurdly wide row, cannot fill memory with field strings.
 */
export const MAX_RECORD = 8 << 20;

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record ends. */
  line: number;
}

/**
 * The records of a delimited text file, streamed through csv-parse. Every record must have as
 * many fields as the first (csv-parse's own check); blank lines are not records.
 */
export async function* csvRecords(source: ByteSource, delimiter: string): AsyncGenerator<CsvRecord> {
  const input = Readable.from(source.stream(), { objectMode: false });
  const parser = parse({
    delimiter,
    bom: true,
    info: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD,
  });
  input.on("error", (e) => parser.destroy(new XentError("io", `cannot read: ${describeIoError(e)}`)));
  input.pipe(parser);
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      yield { fields: item.record, line: item.info.lines };
    }
  } catch (e) {
    throw csvError(e).at({ file: source.name });
  } finally {
    input.destroy();
  }
}

/** A record past the limit: most likely not CSV at all (a binary file, one without line ends). */
export const recordTooLong = (max: number, where: ErrorContext): XentError =>
  new XentError("format", `a record longer than ${max} bytes (is this really a CSV file?)`, where);

export function csvError(e: unknown): XentError {
  if (e instanceof XentError) return e;
  if (e instanceof CsvError) {
    const line = (e as CsvError & { lines?: number }).lines;
    if (e.code === "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH") {
      const got = /got (\d+)/.exec(e.message)?.[1];
      const expected = /expect (\d+)/.exec(e.message)?.[1];
      return new XentError("format", `ragged row: expected ${expected} fields, got ${got}`, { line });
    }
    if (e.code === "CSV_MAX_RECORD_SIZE") return recordTooLong(MAX_RECORD, { line });
    // csv-parse's message already says what it saw; its line number goes into the context.
    return new XentError("format", e.message.replace(/ at line \d+/, "").replace(/^Invalid /, "invalid "), {
      line,
    });
  }
  return new XentError("io", `cannot read: ${describeIoError(e)}`);
}
