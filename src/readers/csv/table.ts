import { XentError } from "../../errors.js";
import { quote } from "../../quote.js";
import type { ByteSource } from "../byteSource.js";
import { openByteSource } from "../byteSource.js";
import { assignColumns, columnRoles, listColumns, TARGET_NAMES, type TableColumn } from "../columns.js";
import { parseNumber } from "../parseNumber.js";
import type {
  InputInfo,
  PendingHeader,
  PredictionSource,
  RawTargets,
  ScoreChunk,
  TargetChunk,
  TargetKind,
  TargetSource,
} from "../types.js";
import { countFileRecords, fastRows, type RowView, StringRow, splitRows } from "./fastRows.js";
import { guessHeader } from "./guessHeader.js";
import { type CsvRecord, csvRecords, MAX_RECORD } from "./records.js";

/** The column flags a table takes (CSV, TSV, Arrow). */
export interface ColumnOptions {
  /** A column name, or a 0-based column number. */
  targetColumn?: string | undefined;
  idColumn?: string | undefined;
  scoreColumns?: string | undefined;
  dropColumns?: string | undefined;
  /** `--group-by`; `groupOptional`: this table may not have it (columns.ts). */
  groupColumn?: string | undefined;
  groupOptional?: boolean | undefined;
}

export interface CsvOptions extends ColumnOptions {
  format: "csv" | "tsv";
  targetType?: TargetKind | undefined;
  /** `--header` (true), `--no-header` (false), or detected (undefined). */
  header?: boolean | undefined;
  /** "fast" unless set (the CLI's XENT_CSV_PARSER=csv-parse). */
  parser?: CsvParser | undefined;
}

interface Table {
  path: string;
  source: ByteSource;
  delimiter: string;
  /** The first record's fields (trimmed): the column names when it is a header. */
  names: string[] | null;
  /** Whether the first record is the header; while `pending`, a guess that settle() may change. */
  isHeader: boolean;
  /** The first record could be a header or data (see guessHeader); settled before reading. */
  pending: boolean;
  /** Whether a first row of numbers was judged by guessHeader (not by a flag), for messages. */
  guessed: boolean;
  width: number;
  /** The first two records (for header, kind and type detection). */
  firstTwo: CsvRecord[];
  /**
   * An input read once (standard input, a pipe) or through csv-parse alone: the records after the
   * first two. Null for a file the fast path reads again from its start.
   */
  rest: AsyncIterator<RowView> | null;
  /** Whether rows come from csv-parse, which checks record widths itself. */
  csvParse: boolean;
}

/**
 * Reads the first two records and decides whether the first is the header: `--header` /
 * `--no-header`, else guessHeader. Every input goes through the one byte-level core (splitRows);
 * a file is read again from its start for the data, an input read once goes on from its third
 * record. `parser: "csv-parse"` reads through csv-parse alone instead (tests compare the two).
 */
async function openTable(source: ByteSource, options: CsvOptions): Promise<Table> {
  const forced = options.header;
  const delimiter = options.format === "tsv" ? "\t" : ",";
  const csvParse = (options.parser ?? "fast") === "csv-parse";
  const records: AsyncIterator<RowView> = csvParse
    ? stringRows(csvRecords(source, delimiter))
    : source.path !== null
      ? fastRows(source.path, delimiter, 0, MAX_RECORD)
      : splitRows(source.stream(), source.name, delimiter, 0, MAX_RECORD);
  const firstTwo: CsvRecord[] = [];
  while (firstTwo.length < 2) {
    const next = await records.next();
    if (next.done) break;
    const row = next.value;
    firstTwo.push({ fields: Array.from({ length: row.width }, (_, i) => row.text(i)), line: row.line });
  }
  // A file's data is read again from its start by fastRows; the head's reader is closed.
  const rereads = source.path !== null && !csvParse;
  if (rereads) await records.return?.();
  const h = firstTwo[0];
  const guess = !h
    ? "data"
    : forced === undefined
      ? guessHeader(h.fields, firstTwo[1]?.fields)
      : forced
        ? "header"
        : "data";
  return {
    path: source.name,
    source,
    delimiter,
    names: h ? h.fields.map((f) => f.trim()) : null,
    // An ambiguous first record is taken as the header until settled: its names are then the
    // column positions, which select the same columns as indices do.
    isHeader: guess !== "data",
    pending: guess === "ambiguous",
    // Only a header of numbers (pandas' integer names) was a guess worth a word later.
    guessed: forced === undefined && h !== undefined && h.fields.every((f) => parseNumber(f) !== undefined),
    width: h?.fields.length ?? 0,
    firstTwo,
    rest: rereads ? null : records,
    csvParse,
  };
}

async function* stringRows(records: AsyncIterable<CsvRecord>): AsyncGenerator<RowView> {
  for await (const record of records) yield new StringRow(record.fields, record.line);
}

const header = (table: Table) => (table.isHeader ? table.names : null);
const firstData = (table: Table): CsvRecord | undefined => table.firstTwo[table.isHeader ? 1 : 0];

const CSV_CHUNK_VALUES = 1 << 16;

/** Which parser reads a file's data: the byte splitter (csv/fastRows.ts), or csv-parse alone (tests compare the two). */
export type CsvParser = "fast" | "csv-parse";

function tableColumns(table: Table): TableColumn[] {
  const names = header(table);
  return Array.from({ length: table.width }, (_, i) => ({ name: names?.[i] ?? null, numeric: true }));
}

function detectKind(table: Table, column: number, forced: TargetKind | undefined): TargetKind {
  if (forced) return forced;
  const v = firstData(table)?.fields[column];
  return v === undefined || parseNumber(v) !== undefined ? "index" : "name";
}

function numberAt(row: RowView, column: number, table: Table, role: string): number {
  const v = row.number(column);
  if (v !== undefined) return v;
  const field = row.text(column);
  const name = header(table)?.[column];
  const hint =
    role === "scores"
      ? ` (the column is read as scores: leave it out with --drop-columns ${name ?? column}, or pick the scores with --score-columns)`
      : "";
  throw new XentError(
    "value",
    field.trim() === "" ? `empty field${hint}` : `expected a number, got ${quote(field)}${hint}`,
    {
      file: table.path,
      line: row.line,
      column: column + 1,
      columnName: name,
    },
  );
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

/** Ends an input read once (its stream); a file's readers close as they finish. */
async function dispose(table: Table): Promise<void> {
  await table.rest?.return?.();
}

/**
 * The data records: a file read again through the byte core (csv/fastRows.ts) with the header
 * passed over, or an input read once going on after its first two records.
 */
async function* rowsOf(table: Table, skipHeader = true, passOver = 0): AsyncGenerator<RowView> {
  const { source } = table;
  if (table.rest === null) {
    const skip = skipHeader && table.isHeader ? 1 : 0;
    const rows = fastRows(
      source.path!,
      table.delimiter,
      skip,
      MAX_RECORD,
      (n) => {
        source.bytesRead = n;
      },
      passOver,
    );
    for await (const row of rows) {
      checkWidth(row, table);
      yield row;
    }
    return;
  }
  for (const record of table.firstTwo.slice(skipHeader && table.isHeader ? 1 : 0)) {
    const row = new StringRow(record.fields, record.line);
    if (!table.csvParse) checkWidth(row, table);
    yield row;
  }
  const rest = table.rest;
  try {
    for (let next = await rest.next(); !next.done; next = await rest.next()) {
      if (!table.csvParse) checkWidth(next.value, table);
      yield next.value;
    }
  } finally {
    await rest.return?.();
  }
}

/**
 * The records of a file, counted (header included) for an ambiguous first record: null for
 * standard input, which can be read only once.
 */
async function countRecords(table: Table): Promise<number | null> {
  if (table.source.path === null) return null;
  if (table.csvParse) {
    let n = 0;
    for await (const _ of csvRecords(await openByteSource(table.source.path), table.delimiter)) n++;
    return n;
  }
  return countFileRecords(table.source.path, table.delimiter, MAX_RECORD);
}

/** What settleHeaders needs of a table whose first record is ambiguous. */
function pendingHeader(
  table: Table,
  flag: string,
  onSettle: (isHeader: boolean) => void,
): PendingHeader | undefined {
  if (!table.pending) return undefined;
  return {
    file: table.path,
    first: table.names!.join(table.delimiter),
    flag,
    records: () => countRecords(table),
    settle: (isHeader) => {
      table.isHeader = isHeader;
      table.pending = false;
      onSettle(isHeader);
    },
  };
}

/** Rows of the table (the header left out), for the other input's ambiguous header. */
async function countRows(table: Table): Promise<number | null> {
  if (table.pending) return null;
  const n = await countRecords(table);
  return n === null ? null : n - (table.isHeader ? 1 : 0);
}

/** Said with a row-count mismatch, when a guessed header may be why. */
function headerNote(table: Table, flag: string): string | undefined {
  if (!table.guessed) return undefined;
  return table.isHeader
    ? `the first row of ${table.path} was read as its header (${flag}no-header reads it as data)`
    : `the first row of ${table.path} was read as data (${flag}header makes it the header)`;
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
        this.values[this.n * this.width + j] = numberAt(row, columns[j]!, table, "target");
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
 * Predictions in CSV/TSV: the columns' roles come from columns.ts (scores, target, id, unused);
 * the header from openTable.
 */
export async function openCsvPredictions(
  source: ByteSource,
  options: CsvOptions,
  withTargets: boolean,
): Promise<PredictionSource> {
  const table = await openTable(source, options);
  const path = source.name;
  const columns = tableColumns(table);
  const roles = assignColumns(columns, { ...options, targetsElsewhere: withTargets }, path);
  const { target, id, group } = roles;
  const scoreColumns = roles.scores;
  if (table.width > 0 && scoreColumns.length === 0) {
    throw new XentError(
      "shape",
      `no score columns: every column is the target, the id, dropped or named like a prediction (columns: ${listColumns(columns)}); pick them with --score-columns`,
      { file: path },
    );
  }
  const targetKind = target !== undefined ? detectKind(table, target, options.targetType) : null;
  const info: InputInfo = { path, format: options.format, shape: [0, scoreColumns.length] };
  if (targetKind === "probs")
    throw new XentError(
      "usage",
      "a target column holds one value per row; probability targets need a targets file",
    );
  const names = () => header(table);
  const prediction: PredictionSource = {
    [Symbol.asyncDispose]: () => dispose(table),
    info,
    rowsCounted: true,
    classes: scoreColumns.length,
    classNames: names() ? scoreColumns.map((i) => names()![i]!) : null,
    targetKind,
    targetColumn: target === undefined ? null : (names()?.[target] ?? String(target)),
    groupColumn: group === undefined ? null : (names()?.[group] ?? String(group)),
    progress: () => (source.size ? source.bytesRead / source.size : null),
    pendingHeader: pendingHeader(table, "--", (isHeader) => {
      prediction.classNames = isHeader ? scoreColumns.map((i) => table.names![i]!) : null;
    }),
    countRows: () => countRows(table),
    headerNote: () => headerNote(table, "--"),
    columnNames: columns.map((c, i) => c.name ?? String(i)),
    columns: columnRoles(table.width, roles, targetKind !== null).map((role, i) => ({
      name: names()?.[i] ?? String(i),
      type:
        firstData(table) && parseNumber(firstData(table)!.fields[i] ?? "") === undefined
          ? "string"
          : "number",
      role,
    })),
    async *chunks(requested: number, fromRow = 0): AsyncGenerator<ScoreChunk> {
      const C = scoreColumns.length;
      // A file's rows before fromRow (--rows, --shard) are counted by their line ends, not parsed.
      const passOver = table.rest === null ? fromRow : 0;
      const scoreIndex = Int32Array.from(scoreColumns);
      // Parsing, not the kernel, sets the pace here: small chunks keep memory low at no cost.
      const chunkRows = Math.max(1, Math.min(requested, Math.floor(CSV_CHUNK_VALUES / Math.max(1, C))));
      let start = passOver;
      let scores = new Float64Array(chunkRows * C);
      let lines = new Uint32Array(chunkRows);
      let ids: string[] = [];
      let groups: string[] = [];
      const targets = targetKind && target !== undefined ? new TargetColumn(targetKind, chunkRows, 1) : null;
      let n = 0;
      const flush = (): ScoreChunk => {
        const chunk: ScoreChunk = {
          start,
          rows: n,
          scores: n === chunkRows ? scores : scores.slice(0, n * C),
          targets: targets?.take(),
          ids: id === undefined ? undefined : ids,
          groups: group === undefined ? undefined : groups,
          lines: lines.subarray(0, n),
        };
        start += n;
        n = 0;
        scores = new Float64Array(chunkRows * C);
        lines = new Uint32Array(chunkRows);
        ids = [];
        groups = [];
        return chunk;
      };
      for await (const row of rowsOf(table, true, passOver)) {
        const read = row.numbers(scoreIndex, scores, n * C);
        if (read < C) numberAt(row, scoreColumns[read]!, table, "scores");
        if (targets) targets.push(row, [target!], table);
        if (id !== undefined) ids.push(row.text(id));
        if (group !== undefined) groups.push(row.text(group));
        lines[n] = row.line;
        if (++n === chunkRows) yield flush();
      }
      if (n > 0) yield flush();
    },
  };
  return prediction;
}

/**
 * Targets in CSV/TSV: the target column (`--target-column`, else one named like a target), else
 * every column but the id column: one → class indices or names, `classes` → probabilities. An id
 * column (named like one, or pandas' unnamed index) carries ids into per-sample output.
 */
export async function openCsvTargets(
  source: ByteSource,
  options: CsvOptions,
  classes: number,
): Promise<TargetSource> {
  const table = await openTable(source, options);
  const path = source.name;
  const all = tableColumns(table);
  const roles = assignColumns(all, { ...options, targetsElsewhere: false }, path);
  const { target, id, group } = roles;
  const columns = target !== undefined ? [target] : roles.scores;
  let kind: TargetKind;
  if (columns.length === 1 && options.targetType !== "probs")
    kind = detectKind(table, columns[0]!, options.targetType);
  // classes 0: any number (xent inspect, which has no predictions to match).
  else if (
    (columns.length === classes || (classes === 0 && columns.length > 1)) &&
    options.targetType !== "index" &&
    options.targetType !== "name"
  )
    kind = "probs";
  else {
    throw new XentError(
      "shape",
      `targets need 1 column (class index or name) or ${classes} columns (probabilities), found ${columns.length} (columns: ${listColumns(all)}; a target column is named ${TARGET_NAMES.join(", ")} or given by --target-column)`,
      { file: path },
    );
  }
  const info: InputInfo = { path, format: options.format, kind };
  if (target !== undefined && header(table)) info.column = header(table)![target]!;
  return {
    [Symbol.asyncDispose]: () => dispose(table),
    info,
    kind,
    groupColumn: group === undefined ? null : (header(table)?.[group] ?? String(group)),
    pendingHeader: pendingHeader(table, "--targets-", () => {}),
    countRows: () => countRows(table),
    headerNote: () => headerNote(table, "--targets-"),
    async *chunks(chunkRows: number): AsyncGenerator<TargetChunk> {
      const col = new TargetColumn(kind, chunkRows, columns.length);
      let start = 0;
      let n = 0;
      let lines = new Uint32Array(chunkRows);
      let ids: string[] = [];
      let groups: string[] = [];
      const flush = (): TargetChunk => {
        const chunk: TargetChunk = {
          start,
          rows: n,
          targets: col.take(),
          lines: lines.subarray(0, n),
          ids: id === undefined ? undefined : ids,
          groups: group === undefined ? undefined : groups,
        };
        start += n;
        n = 0;
        lines = new Uint32Array(chunkRows);
        ids = [];
        groups = [];
        return chunk;
      };
      for await (const row of rowsOf(table)) {
        col.push(row, columns, table);
        if (id !== undefined) ids.push(row.text(id));
        if (group !== undefined) groups.push(row.text(group));
        lines[n] = row.line;
        if (++n === chunkRows) yield flush();
      }
      if (n > 0) yield flush();
    },
  };
}
