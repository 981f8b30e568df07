import { XentError } from "../errors.js";
import type { ByteSource } from "./byteSource.js";
import { type CsvRecord, csvRecords } from "./csvRecords.js";
import { parseNumber } from "./parseNumber.js";
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

import { TARGET_NAMES } from "./targetNames.js";

interface Table {
  path: string;
  header: string[] | null;
  width: number;
  /** The first data record, already read. */
  first: CsvRecord | null;
  rest: AsyncGenerator<CsvRecord>;
}

/** Reads the first record and decides whether it is a header: a header has a non-numeric field. */
async function openTable(source: ByteSource, format: "csv" | "tsv"): Promise<Table> {
  const path = source.name;
  const rest = csvRecords(source, format === "tsv" ? "\t" : ",");
  const head = await rest.next();
  if (head.done) return { path, header: null, width: 0, first: null, rest };
  const isHeader = head.value.fields.some((f) => parseNumber(f) === undefined);
  let first: CsvRecord | null = head.value;
  if (isHeader) {
    const next = await rest.next();
    first = next.done ? null : next.value;
  }
  return {
    path,
    header: isHeader ? head.value.fields.map((f) => f.trim()) : null,
    width: head.value.fields.length,
    first,
    rest,
  };
}

async function* records(table: Table): AsyncGenerator<CsvRecord> {
  if (table.first) yield table.first;
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

function number(field: string, where: { table: Table; record: CsvRecord; column: number }): number {
  const v = parseNumber(field);
  if (v !== undefined) return v;
  const { table, record, column } = where;
  const name = table.header?.[column];
  throw new XentError("value", field.trim() === "" ? "empty field" : `expected a number, got '${field}'`, {
    file: table.path,
    line: record.line,
    column: column + 1,
    columnName: name,
  });
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
  push(fields: string[], columns: number[], where: { table: Table; record: CsvRecord }): void {
    if (this.kind === "name") {
      this.names.push(fields[columns[0]!]!.trim());
    } else {
      for (let j = 0; j < columns.length; j++) {
        const column = columns[j]!;
        this.values[this.n * this.width + j] = number(fields[column]!, { ...where, column });
      }
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
    async *chunks(chunkRows: number): AsyncGenerator<ScoreChunk> {
      const C = scoreColumns.length;
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
      for await (const record of records(table)) {
        const f = record.fields;
        for (let j = 0; j < C; j++) {
          const column = scoreColumns[j]!;
          scores[n * C + j] = number(f[column]!, { table, record, column });
        }
        if (targets) targets.push(f, [target!], { table, record });
        if (id !== undefined) ids.push(f[id]!);
        lines[n] = record.line;
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
      for await (const record of records(table)) {
        col.push(record.fields, columns, { table, record });
        lines[n] = record.line;
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
