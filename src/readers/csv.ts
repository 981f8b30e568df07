import { closeSync, openSync, readSync } from "node:fs";
import { parse as parseSync } from "csv-parse/sync";
import { XentError } from "../errors.js";
import type { ByteSource } from "./byteSource.js";
import { fastRows, type RowView, StringRow } from "./csvFast.js";
import { type CsvRecord, csvError, csvRecords, MAX_RECORD } from "./csvRecords.js";
import { describeIoError } from "./files.js";
import { parseNumber } from "./parseNumber.js";
import { TARGET_NAMES } from "./targetNames.js";
import type {
  InputInfo,
  PredictionSource,
  RawTargets,
  ScoreChunk,
  TargetChunk,
  TargetKind,
  TargetSource,
} from "./types.js";

export interface CsvOptions {
  format: "csv" | "tsv";
  /** A column name, or a 0-based column number. */
  targetColumn?: string | undefined;
  idColumn?: string | undefined;
  targetType?: TargetKind | undefined;
}

interface Table {
  path: string;
  header: string[] | null;
  width: number;
  /** The first data record (for kind and type detection). */
  first: CsvRecord | null;
  /** Data records read ahead from `rest`, to come before it. */
  pending: CsvRecord[];
  rest: AsyncGenerator<CsvRecord>;
}

/** How much of a file's start is read to find its header and first record. */
const HEAD_BYTES = 1 << 20;

/**
 * Reads the first record and decides whether it is a header: a header has a non-numeric field.
 * For a file whose data the fast path will read, only its first megabyte goes through csv-parse
 * (synchronously); standard input, and files read by csv-parse, stream through it.
 */
async function openTable(source: ByteSource, format: "csv" | "tsv"): Promise<Table> {
  const path = source.name;
  const delimiter = format === "tsv" ? "\t" : ",";
  const head = source.path !== null && fastPath() ? headRecords(source.path, delimiter) : null;
  const rest = head ? emptyRecords() : csvRecords(source, delimiter);
  const firstTwo = head ?? (await takeTwo(rest));
  const h = firstTwo[0];
  if (!h) return { path, header: null, width: 0, first: null, pending: [], rest };
  const isHeader = h.fields.some((f) => parseNumber(f) === undefined);
  const data = isHeader ? firstTwo.slice(1) : firstTwo;
  return {
    path,
    header: isHeader ? h.fields.map((f) => f.trim()) : null,
    width: h.fields.length,
    first: data[0] ?? null,
    // From the head of a file (fast path) nothing is pending: the data is read again from the start.
    pending: head ? [] : data,
    rest,
  };
}

const CSV_CHUNK_VALUES = 1 << 16;

const fastPath = () => process.env.XENT_CSV_PARSER !== "csv-parse";

async function takeTwo(rest: AsyncGenerator<CsvRecord>): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for (let i = 0; i < 2; i++) {
    const next = await rest.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

async function* emptyRecords(): AsyncGenerator<CsvRecord> {}

/** The first two records of a file, parsed from its first megabyte (null when they do not fit). */
function headRecords(path: string, delimiter: string): CsvRecord[] | null {
  const fd = openSync(path, "r");
  let bytes: Buffer;
  try {
    bytes = Buffer.alloc(HEAD_BYTES);
    bytes = bytes.subarray(0, readSync(fd, bytes, 0, HEAD_BYTES, 0));
  } catch (e) {
    throw new XentError("io", `cannot read: ${describeIoError(e)}`, { file: path });
  } finally {
    closeSync(fd);
  }
  const complete = bytes.length < HEAD_BYTES ? bytes : bytes.subarray(0, bytes.lastIndexOf(10) + 1);
  if (complete.length === 0) return null;
  try {
    const parsed = parseSync(complete, {
      delimiter,
      bom: true,
      info: true,
      skip_empty_lines: true,
      to: 2,
    }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
    return parsed.map((p) => ({ fields: p.record, line: p.info.lines }));
  } catch (e) {
    throw csvError(e).at({ file: path });
  }
}

async function* records(table: Table): AsyncGenerator<CsvRecord> {
  yield* table.pending;
  yield* table.rest;
}

/** A column chosen by name or 0-based number, or undefined if `spec` is undefined. */
function findColumn(table: Table, spec: string | undefined, flag: string): number | undefined {
  if (spec === undefined) return undefined;
  const byName = table.header?.indexOf(spec) ?? -1;
  if (byName >= 0) return byName;
  if (/^\d+$/.test(spec) && Number(spec) < table.width) return Number(spec);
  const known = table.header ? `; its columns are ${table.header.join(", ")}` : " (it has no header)";
  throw new XentError("usage", `${flag} ${spec}: no such column in ${table.path}${known}`);
}

function conventionalTarget(table: Table): number | undefined {
  const i = table.header?.findIndex((h) => TARGET_NAMES.includes(h.toLowerCase())) ?? -1;
  return i >= 0 ? i : undefined;
}

function detectKind(table: Table, column: number, forced: TargetKind | undefined): TargetKind {
  if (forced) return forced;
  const v = table.first?.fields[column];
  return v === undefined || parseNumber(v) !== undefined ? "index" : "name";
}

function numberAt(row: RowView, column: number, table: Table): number {
  const v = row.number(column);
  if (v !== undefined) return v;
  const field = row.text(column);
  throw new XentError("value", field.trim() === "" ? "empty field" : `expected a number, got '${field}'`, {
    file: table.path,
    line: row.line,
    column: column + 1,
    columnName: table.header?.[column],
  });
}

/** The fast path checks record lengths itself (csv-parse does on the slow path), with csv-parse's words. */
function checkWidth(row: RowView, table: Table): void {
  if (row.width !== table.width) {
    throw new XentError("format", `ragged row: expected ${table.width} fields, got ${row.width}`, {
      file: table.path,
      line: row.line,
    });
  }
}

/**
 * The data records: split in bytes (csvFast.ts) for a file, through csv-parse for standard input
 * or when XENT_CSV_PARSER=csv-parse asks for it (the tests compare the two).
 */
async function* rowsOf(table: Table, source: ByteSource, format: "csv" | "tsv"): AsyncGenerator<RowView> {
  if (source.path !== null && fastPath()) {
    const skip = table.header ? 1 : 0;
    for await (const row of fastRows(source.path, format === "tsv" ? "\t" : ",", skip, MAX_RECORD, (n) => {
      source.bytesRead = n;
    })) {
      checkWidth(row, table);
      yield row;
    }
    return;
  }
  for await (const record of records(table)) yield new StringRow(record.fields, record.line);
}

/** Collects target values of one kind for a chunk. */
class TargetColumn {
  private names: string[] = [];
  private values: Float64Array;
  private n = 0;
  constructor(
    readonly kind: TargetKind,
    chunkRows: number,
    readonly width: number,
  ) {
    this.values = new Float64Array(kind === "name" ? 0 : chunkRows * width);
  }
  push(row: RowView, columns: number[], table: Table): void {
    if (this.kind === "name") {
      this.names.push(row.text(columns[0]!).trim());
    } else {
      for (let j = 0; j < columns.length; j++)
        this.values[this.n * this.width + j] = numberAt(row, columns[j]!, table);
    }
    this.n++;
  }
  take(): RawTargets {
    const rows = this.n;
    this.n = 0;
    if (this.kind === "name") {
      const values = this.names;
      this.names = [];
      return { kind: "name", values };
    }
    const values = this.values.slice(0, rows * this.width);
    return this.kind === "index" ? { kind: "index", values } : { kind: "probs", values };
  }
}

/**
 * Predictions in CSV/TSV: every column is a class score except the target column (`--target-column`,
 * else one named label/target/y/class) and the id column (`--id-column`, else a first column with
 * an empty header name, which is how pandas writes its index).
 */
export async function openCsvPredictions(
  source: ByteSource,
  options: CsvOptions,
  withTargets: boolean,
): Promise<PredictionSource> {
  const table = await openTable(source, options.format);
  const path = source.name;
  // With a targets file, --target-column names a column of that file; here only a conventionally
  // named target column is recognised, to keep it out of the scores.
  const target = withTargets
    ? conventionalTarget(table)
    : (findColumn(table, options.targetColumn, "--target-column") ?? conventionalTarget(table));
  let id = findColumn(table, options.idColumn, "--id-column");
  if (id === undefined && table.header?.[0] === "" && target !== 0) id = 0;
  const scoreColumns = Array.from({ length: table.width }, (_, i) => i).filter(
    (i) => i !== target && i !== id,
  );
  if (table.width > 0 && scoreColumns.length === 0) {
    throw new XentError("shape", "no score columns left after the target and id columns", { file: path });
  }
  // A targets file, when given, wins over a target column here; the column is then not a score.
  const targetKind =
    target !== undefined && !withTargets ? detectKind(table, target, options.targetType) : null;
  const info: InputInfo = { path, format: options.format, shape: [0, scoreColumns.length] };
  if (targetKind === "probs")
    throw new XentError(
      "usage",
      "a target column holds one value per row; probability targets need a targets file",
    );
  return {
    info,
    classes: scoreColumns.length,
    classNames: table.header ? scoreColumns.map((i) => table.header![i]!) : null,
    targetKind,
    targetColumn: targetKind === null ? null : (table.header?.[target!] ?? String(target! + 1)),
    fractionDone: () => (source.size ? source.bytesRead / source.size : null),
    columns: Array.from({ length: table.width }, (_, i) => ({
      name: table.header?.[i] ?? String(i + 1),
      type: table.first && parseNumber(table.first.fields[i] ?? "") === undefined ? "string" : "number",
      role: i === id ? "id" : i === target ? (targetKind === null ? "unused" : "target") : "scores",
    })),
    async *chunks(requested: number): AsyncGenerator<ScoreChunk> {
      const C = scoreColumns.length;
      // Parsing, not the kernel, sets the pace here: small chunks keep memory low at no cost.
      const chunkRows = Math.max(1, Math.min(requested, Math.floor(CSV_CHUNK_VALUES / Math.max(1, C))));
      let start = 0;
      let scores = new Float64Array(chunkRows * C);
      let lines = new Uint32Array(chunkRows);
      let ids: string[] = [];
      const targets = targetKind && target !== undefined ? new TargetColumn(targetKind, chunkRows, 1) : null;
      let n = 0;
      const flush = (): ScoreChunk => {
        const chunk: ScoreChunk = {
          start,
          rows: n,
          scores: n === chunkRows ? scores : scores.slice(0, n * C),
          targets: targets?.take(),
          ids: id === undefined ? undefined : ids,
          lines: lines.subarray(0, n),
        };
        start += n;
        n = 0;
        scores = new Float64Array(chunkRows * C);
        lines = new Uint32Array(chunkRows);
        ids = [];
        return chunk;
      };
      for await (const row of rowsOf(table, source, options.format)) {
        for (let j = 0; j < C; j++) scores[n * C + j] = numberAt(row, scoreColumns[j]!, table);
        if (targets) targets.push(row, [target!], table);
        if (id !== undefined) ids.push(row.text(id));
        lines[n] = row.line;
        if (++n === chunkRows) yield flush();
      }
      info.shape = [start + n, C];
      if (n > 0) yield flush();
    },
  };
}

/**
 * Targets in CSV/TSV: the target column (`--target-column`, else label/target/y/class), else every
 * column but the id column: one → class indices or names, `classes` → probabilities.
 */
export async function openCsvTargets(
  source: ByteSource,
  options: CsvOptions,
  classes: number,
): Promise<TargetSource> {
  const table = await openTable(source, options.format);
  const path = source.name;
  const named = findColumn(table, options.targetColumn, "--target-column") ?? conventionalTarget(table);
  const id = findColumn(table, options.idColumn, "--id-column");
  const columns =
    named !== undefined ? [named] : Array.from({ length: table.width }, (_, i) => i).filter((i) => i !== id);
  let kind: TargetKind;
  if (columns.length === 1 && options.targetType !== "probs")
    kind = detectKind(table, columns[0]!, options.targetType);
  else if (columns.length === classes && options.targetType !== "index" && options.targetType !== "name")
    kind = "probs";
  else {
    throw new XentError(
      "shape",
      `targets need 1 column (class index or name) or ${classes} columns (probabilities), found ${columns.length}`,
      { file: path },
    );
  }
  const info: InputInfo = { path, format: options.format, kind };
  if (named !== undefined && table.header) info.column = table.header[named]!;
  return {
    info,
    kind,
    async *chunks(chunkRows: number): AsyncGenerator<TargetChunk> {
      const col = new TargetColumn(kind, chunkRows, columns.length);
      let start = 0;
      let n = 0;
      let lines = new Uint32Array(chunkRows);
      for await (const row of rowsOf(table, source, options.format)) {
        col.push(row, columns, table);
        lines[n] = row.line;
        if (++n === chunkRows) {
          yield { start, rows: n, targets: col.take(), lines };
          start += n;
          n = 0;
          lines = new Uint32Array(chunkRows);
        }
      }
      if (n > 0) yield { start, rows: n, targets: col.take(), lines: lines.subarray(0, n) };
    },
  };
}
