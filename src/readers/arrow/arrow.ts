import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import {
  type AsyncRecordBatchFileReader,
  type AsyncRecordBatchStreamReader,
  DataType,
  type Field,
  makeVector,
  type RecordBatch,
  RecordBatchReader,
  type Vector,
} from "apache-arrow";
import { usage, XentError } from "../../errors.js";
import type { ByteSource } from "../byteSource.js";
import {
  assignColumns,
  columnRoles,
  findColumn,
  listColumns,
  TARGET_NAMES,
  type TableColumn,
} from "../columns.js";
import type { ColumnOptions } from "../csv/table.js";
import { describeIoError } from "../files.js";
import { rowOrderedTargets } from "../npy/segments.js";
import { releaseMemory } from "../releaseMemory.js";
import type {
  InputInfo,
  PredictionSource,
  RawTargets,
  ScoreChunk,
  TargetChunk,
  TargetKind,
  TargetSource,
} from "../types.js";
import { prepareZstd } from "../zstd.js";
import { prepareZstdStream } from "../zstdStream.js";
import { batchSlices, SLICE_BYTES, STREAMS_AT_ONCE, sliceable } from "./batchSlices.js";
import { registerArrowCodecs } from "./codecs/register.js";
import { arrowDirectPlan, type Block, type ExternalTargets, peekFirstBatch, positions } from "./segments.js";
import {
  isIntList,
  isListType,
  isNestedFloatList,
  sameLengths,
  sequenceOffsets,
  tokenRuns,
} from "./sequences.js";
import {
  batchScores,
  batchTargets,
  type ColumnBatch,
  recordBatchColumns,
  type ScoreLayout,
} from "./slices.js";
import {
  type BatchMeta,
  checkArrowFile,
  checkArrowStreamFile,
  checkBatches,
  checkedArrowStream,
} from "./validate.js";

export interface ArrowOptions extends ColumnOptions {
  logitsColumn?: string | undefined;
  targetType?: TargetKind | undefined;
}

type Reader = AsyncRecordBatchFileReader | AsyncRecordBatchStreamReader;

/**
 * Record batches larger than this (compressed ones: an eighth of it, as stored) are read in
 * slices of rows on this thread (batchSlices.ts): apache-arrow reads a batch whole, and polars
 * writes a DataFrame as one batch.
 */
const SLICED_BATCH_BYTES = 32 * 2 ** 20;

/** When batches are read in slices, and how much of their columns a slice holds (tests lower both). */
export interface Slicing {
  batchBytes?: number | undefined;
  sliceBytes?: number | undefined;
  /** Where a compressed batch of many columns is decoded first (src/cli: the system's). */
  tempDir?: string | undefined;
  /** Compressed buffers read as streams side by side at most; more go to tempDir (tests lower it). */
  streamsAtOnce?: number | undefined;
}

/**
 * An opened columnar input: an Arrow IPC file or stream, or a Parquet file decoded to Arrow data
 * (parquet/parquet.ts). Its schema, and its batches one at a time (the first may be read already).
 */
export interface ArrowInput {
  name: string;
  format: "arrow" | "arrows" | "parquet";
  fields: Field[];
  /** How much has been read, in [0, 1], or null when that is unknown (a stream). */
  progress(): number | null;
  /** The record batches' blocks (a file or stream read from a path), for arrowDirectPlan. */
  blocks: Block[] | null;
  path: string | null;
  /**
   * The first record batch, read at open to learn the class count of variable-length lists and
   * whether batches are compressed; null when those came from its metadata alone (an
   * uncompressed file: worker threads may then read the batches themselves, and nothing is read
   * twice).
   */
  first: ColumnBatch | null;
  /** Each List column's first row length, when read from the first batch's metadata. */
  listLengths: Map<number, number> | null;
  /** Runs of rows; `columns` are the ones that will be read (a Parquet file decodes only those). */
  batches(columns: number[], groups?: number[]): AsyncGenerator<ColumnBatch>;
  compression: string | null;
  /** Rows in all, when known before reading (a file's footer or metadata; not a stream's). */
  rows: number | null;
  /**
   * Each record batch's (Parquet: row group's) first row, when the batches can be read in any
   * order: batches(columns, groups) then reads those alone (`--rows` skips the ones before).
   */
  starts: number[] | null;
  /** Parquet: its path, row groups and the program that wrote it. */
  rowGroups?: { path: string; count: number; writtenBy: string | null };
  /** Closes the file (also done when batches() ends); a second call does nothing. */
  close(): Promise<void>;
}

const invalid = (name: string, format: string, e: unknown) =>
  e instanceof XentError
    ? e.at({ file: name })
    : new XentError(
        "format",
        `not a valid Arrow IPC ${format === "arrow" ? "file" : "stream"}: ${describeIoError(e).replace(/\.$/, "")}`,
        {
          file: name,
        },
      );

/**
 * Opens an Arrow IPC file (through a FileHandle, so apache-arrow reads one batch at a time instead
 * of buffering the file) or stream (a path or standard input).
 */
export async function openArrow(
  source: ByteSource,
  format: "arrow" | "arrows",
  {
    batchBytes = SLICED_BATCH_BYTES,
    sliceBytes = SLICE_BYTES,
    tempDir,
    streamsAtOnce = STREAMS_AT_ONCE,
  }: Slicing = {},
): Promise<ArrowInput> {
  registerArrowCodecs();
  const name = source.name;
  if (source.head.length === 0) throw new XentError("format", "empty file: no Arrow schema", { file: name });
  let handle: FileHandle | null = null;
  let reader: Reader;
  let metas: BatchMeta[] | null = null;
  /**
   * Every batch apache-arrow hands out must be one the checks saw: standard input's metadata
   * arrives as it streams; a file's and a stream file's were all read at open. A batch beyond
   * them (the checks' walk ended, apache-arrow read on) is an error, never data.
   */
  const streamed: BatchMeta[] = [];
  /** The codec of the first compressed batch (from the checked metadata): what `inspect` reports. */
  let compression: "lz4" | "zstd" | null = null;
  try {
    if (source.path !== null) {
      // A FileHandle for streams too: apache-arrow then reads each message body at its exact
      // size instead of gathering it from 1 MiB read-stream chunks (half the peak memory).
      handle = await open(source.path, "r");
      // Everything apache-arrow would trust is checked first: it loops or allocates gigabytes on
      // some corrupted files, and reads short buffers as zeros.
      if (format === "arrow")
        metas = await checkArrowFile(handle, await checkFileTrailer(handle, name), name);
      else metas = await checkArrowStreamFile(handle, (await handle.stat()).size, name);
      reader = (await RecordBatchReader.from(handle)) as Reader;
    } else {
      // An Arrow file read from the front (standard input, a pipe, gzip/zstd): after its 8 bytes of
      // magic and padding it holds the stream format, up to an end-of-stream marker before the
      // footer, which is not needed to read the batches in order.
      const bytes = format === "arrow" ? skipBytes(source.stream(), 8) : source.stream();
      const checked = checkedArrowStream(bytes, name, (meta) => {
        streamed.push(meta);
        compression ??= meta.codec;
      });
      reader = (await RecordBatchReader.from(checked)) as Reader;
    }
    await reader.open();
    // An input that ends before its schema message (an Arrow file of its magic alone on standard
    // input): apache-arrow opens it with no schema at all.
    if (!reader.schema) throw new XentError("format", "no Arrow schema: the input ends before it");
    if (metas) {
      checkBatches(metas, reader.schema.fields, name);
      streamed.push(...metas);
    }
  } catch (e) {
    await handle?.close();
    throw invalid(name, format, e);
  }
  if (format === "arrow" && source.path !== null && !reader.isFile()) {
    await handle?.close();
    throw new XentError("format", "this is the Arrow stream format; pass --input-format arrows", {
      file: name,
    });
  }
  const it = reader[Symbol.asyncIterator]();
  const next = async (): Promise<RecordBatch | null> => {
    try {
      const r = await it.next();
      if (!r.done) {
        const meta = streamed.shift();
        if (!meta) throw new XentError("format", "corrupt Arrow data: a record batch the checks did not see");
        if (source.path === null) checkBatches([meta], reader.schema.fields, name);
      }
      return r.done ? null : r.value;
    } catch (e) {
      throw invalid(name, format, e);
    }
  };
  // Where the record batches lie, for worker threads that read them: a file's footer, or the
  // messages a stream read from a path was walked through (checkArrowStreamFile).
  const blocks =
    source.path === null
      ? null
      : reader.isFile()
        ? [...(reader as AsyncRecordBatchFileReader).footer!.recordBatches()].map((b, k) => ({
            offset: Number(b.offset),
            metaDataLength: b.metaDataLength,
            bodyLength: Number(b.bodyLength),
            // The walk's checked metadata of this very batch (checkArrowFile lists them in the footer's order).
            meta: metas?.[k]?.offset === Number(b.offset) ? metas[k] : undefined,
          }))
        : (metas?.map((m) => ({
            offset: m.offset,
            metaDataLength: m.metaDataLength,
            bodyLength: m.bodyLength,
            meta: m,
          })) ?? null);
  const peeked =
    blocks && blocks.length > 0 && handle
      ? await peekFirstBatch(handle, blocks[0]!, reader.schema.fields)
      : null;
  let first = peeked ? null : await next();
  compression ??= metas?.find((m) => m.codec !== null)?.codec ?? null;
  if (metas?.some((m) => m.codec === "zstd")) await prepareZstd();
  const batchCount = reader.isFile() ? reader.numRecordBatches : null;
  let batchesRead = 0;
  const input: ArrowInput = {
    name,
    format,
    fields: reader.schema.fields,
    progress: () => (batchCount ? batchesRead / batchCount : null),
    blocks,
    path: source.path,
    first: first && recordBatchColumns(first),
    listLengths: peeked?.listLengths ?? null,
    compression,
    rows: metas ? metas.reduce((n, m) => n + m.length, 0) : null,
    starts: metas && reader.isFile() ? firstRows(metas.map((m) => m.length)) : null,
    async *batches(columns: number[], groups?: number[]) {
      // A large uncompressed batch is read in slices of rows (the columns asked for), not whole.
      const fields = reader.schema.fields;
      const places = positions(fields);
      const large = (m: BatchMeta) => m.bodyLength > (m.codec === null ? batchBytes : batchBytes / 8);
      const slice = (m: BatchMeta) =>
        sliceable(m, fields, places, columns, streamsAtOnce, tempDir !== undefined);
      // A file's batches are read by their place in the footer: each large one sliced, the others
      // by apache-arrow. A stream file's are read in order by apache-arrow, which cannot skip one:
      // sliced all or none (all when one is large and every one can be).
      const slices =
        handle && metas
          ? reader.isFile()
            ? metas.map((m) => (large(m) ? slice(m) : null))
            : first === null && metas.some(large)
              ? metas.map(slice)
              : null
          : null;
      const sliced = reader.isFile()
        ? (slices?.some((s) => s !== null) ?? false)
        : (slices?.every((s) => s !== null) ?? false);
      if (sliced && metas?.some((m) => m.codec === "zstd")) await prepareZstdStream();
      const starts = input.starts ?? (metas ? firstRows(metas.map((m) => m.length)) : []);
      if ((groups !== undefined && input.starts && reader.isFile()) || sliced) {
        // Chosen batches (or all), read by their place in the footer (all were checked at open).
        first = null;
        input.first = null;
        try {
          for (const g of groups ?? starts.map((_, g) => g)) {
            batchesRead = g + 1;
            const rowBytes = slices?.[g] ?? null;
            if (rowBytes !== null) {
              // A decoder's complaint names the file (its rows, where it knows them).
              try {
                yield* batchSlices(
                  handle!,
                  metas![g]!,
                  { start: starts[g]!, rowBytes },
                  { fields, places, columns },
                  { name, sliceBytes, tempDir, streamsAtOnce },
                );
              } catch (e) {
                throw e instanceof XentError && e.context.file === undefined ? e.at({ file: name }) : e;
              }
              continue;
            }
            const b = await (reader as AsyncRecordBatchFileReader).readRecordBatch(g).catch((e: unknown) => {
              throw invalid(name, format, e);
            });
            if (!b)
              throw new XentError("format", `corrupt Arrow file: record batch ${g} cannot be read`, {
                file: name,
              });
            yield { ...recordBatchColumns(b), start: starts[g]! };
          }
        } finally {
          await input.close();
        }
        return;
      }
      // Hand the first batch over and forget it, so that it can be collected like the others.
      let b = peeked ? await next() : first;
      first = null;
      input.first = null;
      // The next batch is read while this one is evaluated (one batch ahead), so that worker
      // threads are not left waiting for the read of each batch.
      // A batch read ahead may fail (a corrupt batch on standard input, checked as it arrives)
      // while this one is still being evaluated: its promise gets a handler at once, or Node
      // reported the rejection as unhandled and the process died with a stack trace before the
      // await below could report the error (fuzz seed 31, case 234).
      const readAhead = () => {
        const p = next();
        p.catch(() => {});
        return p;
      };
      let ahead: Promise<RecordBatch | null> | null = b === null ? null : readAhead();
      try {
        while (b !== null) {
          batchesRead++;
          yield recordBatchColumns(b);
          const bytes = b.data.byteLength;
          b = null;
          releaseMemory(bytes);
          b = await ahead!;
          ahead = b === null ? null : readAhead();
        }
      } finally {
        await ahead?.catch(() => null);
        await input.close();
      }
    },
    close: async () => {
      const h = handle;
      handle = null;
      await h?.close();
    },
  };
  return input;
}

/**
 * The file format ends with its footer's length and the ARROW1 magic; without them apache-arrow
 * fails with a bare TypeError, so a truncated file is named as such here first.
 */
async function checkFileTrailer(handle: FileHandle, name: string): Promise<number> {
  const size = (await handle.stat()).size;
  const tail = Buffer.alloc(10);
  if (size >= 10) await handle.read(tail, 0, 10, size - 10);
  const footer = tail.readInt32LE(0);
  if (size < 18 || tail.subarray(4).toString("latin1") !== "ARROW1" || footer <= 0 || footer > size - 18) {
    throw new XentError(
      "format",
      "truncated Arrow file: no footer (the file must end with its footer and ARROW1)",
      { file: name },
    );
  }
  return size;
}

/** A column's type as its file names it: Parquet's (kept in the field's metadata), else Arrow's. */
export const PARQUET_TYPE = "xent.parquet.type";
const typeName = (f: Field): string => f.metadata.get(PARQUET_TYPE) ?? String(f.type);

const isFloatList = (t: DataType) => isListType(t) && DataType.isFloat(t.children[0]!.type);
const isStringType = (t: DataType): boolean =>
  DataType.isUtf8(t) ||
  DataType.isLargeUtf8(t) ||
  DataType.isUtf8View(t) ||
  (DataType.isDictionary(t) && isStringType(t.dictionary));

function targetKindOf(field: Field, forced: TargetKind | undefined, name: string): TargetKind {
  const t = field.type;
  const kind: TargetKind | null =
    DataType.isInt(t) || DataType.isFloat(t) || DataType.isBool(t)
      ? "index"
      : isStringType(t)
        ? "name"
        : isFloatList(t)
          ? "probs"
          : null;
  if (kind === null) {
    throw new XentError(
      "format",
      `target column '${field.name}' has type ${typeName(field)}; expected integers, booleans, strings or a list of floats`,
      {
        file: name,
      },
    );
  }
  if (forced && forced !== kind && !(forced === "index" && kind === "index")) {
    throw new XentError("usage", `--target-type ${forced} does not fit column '${field.name}' of type ${t}`, {
      file: name,
    });
  }
  return kind;
}

function listLength(input: ArrowInput, column: number): number {
  const outer = input.fields[column]!.type;
  const nested = isNestedFloatList(outer);
  const type = nested ? outer.children[0]!.type : outer;
  if (DataType.isFixedSizeList(type)) return type.listSize;
  const peeked = input.listLengths?.get(column);
  if (peeked !== undefined) return peeked;
  const top = input.first?.column(column).data[0];
  // A list of lists: the first position's list (the first sequences may be empty).
  const data = nested ? top?.children[0] : top;
  if (!data || data.length === 0) return 0;
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  return Number(offsets[data.offset + 1]!) - Number(offsets[data.offset]!);
}

/**
 * Predictions in Arrow: one list column of floats (`--logits-column`, else the only one), or one
 * float column per class (names = class names), besides the target and id columns.
 */
export async function arrowPredictions(
  input: ArrowInput,
  options: ArrowOptions,
  withTargets: boolean,
): Promise<PredictionSource> {
  const { fields, name } = input;
  const table: TableColumn[] = fields.map((f) => ({ name: f.name, numeric: DataType.isFloat(f.type) }));
  const rules = { ...options, targetsElsewhere: withTargets };
  // Target and id first: a list column of scores is looked for among the other columns.
  const base = assignColumns(table, { ...rules, scoreColumns: undefined }, name, false);
  const scoreList = (t: DataType) => isFloatList(t) || isNestedFloatList(t);
  let list = findColumn(table, options.logitsColumn, "--logits-column", name) ?? null;
  if (list !== null && !scoreList(fields[list]!.type)) {
    throw usage(
      `--logits-column ${options.logitsColumn}: column has type ${typeName(fields[list]!)}, not a list of floats`,
    );
  }
  if (list === null && options.scoreColumns === undefined) {
    const taken = [base.target, base.id, base.shadowedTarget];
    const lists = fields
      .map((f, i) => (scoreList(f.type) && !taken.includes(i) ? i : -1))
      .filter((i) => i >= 0);
    if (lists.length > 1) {
      throw usage(
        `${name} has several list columns (${lists.map((i) => fields[i]!.name).join(", ")}); pick one with --logits-column`,
      );
    }
    list = lists[0] ?? null;
  }
  const roles = list !== null ? base : assignColumns(table, rules, name, true);
  const { target, id, group } = roles;
  const columns = roles.scores;
  if (list === null && columns.length === 0) {
    throw new XentError("format", "no scores: neither a list column of floats nor float columns", {
      file: name,
    });
  }
  const layout: ScoreLayout = {
    list,
    columns,
    classes: list !== null ? listLength(input, list) : columns.length,
  };
  const nested = list !== null && isNestedFloatList(fields[list]!.type);
  const targetKind =
    target !== undefined && !withTargets
      ? nested
        ? sequenceTargetKind(fields[target]!, name)
        : targetKindOf(fields[target]!, options.targetType, name)
      : null;
  if (targetKind === "probs") throw usage("a target column of probabilities needs its own targets file");
  const leafType = (t: DataType): DataType => (isListType(t) ? leafType(t.children[0]!.type) : t);
  const dtypeOf = (f: Field) => String(leafType(f.type)).toLowerCase();
  const info: InputInfo = {
    path: name,
    format: input.format,
    dtype: dtypeOf(fields[list ?? columns[0]!]!),
    shape: [0, layout.classes],
  };
  if (list !== null) info.member = fields[list]!.name;
  const seen = { sequences: 0 };
  if (input.compression) info.compression = input.compression;
  return {
    [Symbol.asyncDispose]: () => input.close(),
    info,
    rowsCounted: true,
    classes: layout.classes,
    classNames: list !== null ? null : columns.map((i) => fields[i]!.name),
    targetKind,
    targetColumn: targetKind === null ? null : fields[target!]!.name,
    groupColumn: group === undefined ? null : fields[group]!.name,
    progress: () => input.progress(),
    // A list-of-lists column's rows are its tokens, which only reading counts.
    ...(nested
      ? { listOfLists: true, sequencesRead: () => seen.sequences }
      : { countRows: async () => input.rows }),
    // Worker threads can read a file's batches themselves (see segments.ts): a list column's, or
    // uncompressed class columns'.
    ...(input.blocks && input.path && !nested && (targetKind === "index" || targetKind === null)
      ? {
          // With an id or group column, or a targets file other than an NPY of class indices of
          // the same rows, the batches go through chunks() (ids, joining, its checks).
          segments: async (chunkRows: number, targets: TargetSource | null) => {
            if (id !== undefined || group !== undefined) return null;
            let beside: ExternalTargets | null = null;
            if (targets !== null) {
              const t = rowOrderedTargets(targets);
              if (targetKind !== null || !t) return null;
              if (t.header.shape.reduce((a, b) => a * b, 1) !== input.rows) return null;
              beside = { path: t.path, dtype: t.header.dtype, at: t.header.dataOffset };
            } else if (targetKind !== "index") return null;
            const handle = await open(input.path!, "r");
            try {
              const plan = await arrowDirectPlan(
                input.path!,
                handle,
                input.blocks!,
                fields,
                list !== null ? { list } : { columns },
                beside ?? target!,
                layout.classes,
                chunkRows,
              );
              return plan;
            } finally {
              await handle.close();
            }
          },
        }
      : {}),
    ...(input.rowGroups
      ? {
          rowGroups: { count: input.rowGroups.count, writtenBy: input.rowGroups.writtenBy },
          rowGroupPlan: (targets: TargetSource | null) =>
            targets !== null || id !== undefined || group !== undefined || targetKind !== "index" || nested
              ? null
              : {
                  path: input.rowGroups!.path,
                  name,
                  list,
                  columns,
                  target: target!,
                  rowGroups: input.rowGroups!.count,
                },
        }
      : {}),
    columnNames: fields.map((f) => f.name),
    columns: columnRoles(fields.length, roles, targetKind !== null, list === null ? [] : [list]).map(
      (role, i) => ({ name: fields[i]!.name, type: typeName(fields[i]!), role }),
    ),
    async *chunks(chunkRows: number, fromRow = 0): AsyncGenerator<ScoreChunk> {
      let start = 0;
      const read = [...(list !== null ? [list] : columns), ...(targetKind !== null ? [target!] : [])];
      // Arrow files and Parquet: the batches / row groups before the one holding fromRow are not read.
      const starts = input.starts;
      let skipTo = 0;
      if (fromRow > 0 && starts)
        while (skipTo + 1 < starts.length && starts[skipTo + 1]! <= fromRow) skipTo++;
      const groups = skipTo > 0 ? starts!.map((_, g) => g).slice(skipTo) : undefined;
      if (id !== undefined) read.push(id);
      if (group !== undefined) read.push(group);
      if (nested) {
        yield* sequenceChunks(
          input.batches(read),
          { list: list!, target, id, group, classes: layout.classes, seen },
          chunkRows,
          name,
        );
        return;
      }
      for await (const batch of input.batches(read, groups)) {
        start = batch.start ?? start;
        for (let from = 0; from < batch.numRows; from += chunkRows) {
          const n = Math.min(chunkRows, batch.numRows - from);
          const chunk: ScoreChunk = {
            start,
            rows: n,
            scores: batchScores(batch, layout, from, n, start, name),
          };
          if (targetKind !== null)
            chunk.targets = batchTargets(
              batch.column(target!),
              targetKind,
              from,
              n,
              layout.classes,
              start,
              name,
            );
          if (id !== undefined) {
            const v = batch.column(id);
            chunk.ids = Array.from({ length: n }, (_, i) => String(v.get(from + i)));
          }
          if (group !== undefined) chunk.groups = groupValues(batch, group, from, n, start, name);
          start += n;
          yield chunk;
        }
      }
    },
  };
}

/** Targets in Arrow: the target column (or the only column), else one float column per class. */
export async function arrowTargets(
  input: ArrowInput,
  options: ArrowOptions,
  classes: number,
): Promise<TargetSource> {
  const { fields, name } = input;
  const table: TableColumn[] = fields.map((f) => ({ name: f.name, numeric: DataType.isFloat(f.type) }));
  const roles = assignColumns(table, { ...options, targetsElsewhere: false }, name, true);
  const { group } = roles;
  const named = roles.target ?? (fields.length === 1 ? 0 : undefined);
  let kind: TargetKind;
  let probColumns: number[] = [];
  // A list of token ids per sequence: rows are its tokens, and chunks carry their sequences.
  const perSequence = named !== undefined && isIntList(fields[named]!.type);
  if (perSequence) kind = "index";
  else if (named !== undefined) kind = targetKindOf(fields[named]!, options.targetType, name);
  else {
    probColumns = roles.scores;
    // classes 0: any number (xent inspect, which has no predictions to match).
    if (classes === 0) classes = probColumns.length;
    if (probColumns.length !== classes || options.targetType === "index" || options.targetType === "name") {
      throw new XentError(
        "shape",
        `targets need a target column (${TARGET_NAMES.join(", ")} or --target-column) or ${classes} float columns, found ${listColumns(table)}`,
        { file: name },
      );
    }
    kind = "probs";
  }
  const info: InputInfo = { path: name, format: input.format, kind };
  if (named !== undefined) info.column = fields[named]!.name;
  return {
    [Symbol.asyncDispose]: () => input.close(),
    info,
    kind,
    groupColumn: group === undefined ? null : fields[group]!.name,
    ...(perSequence ? { listOfLists: true } : {}),
    async *chunks(chunkRows: number): AsyncGenerator<TargetChunk> {
      let start = 0;
      const read = named !== undefined ? [named] : probColumns;
      if (perSequence) {
        yield* sequenceTargetChunks(
          input.batches(group === undefined ? read : [...read, group]),
          named!,
          group,
          chunkRows,
          name,
        );
        return;
      }
      for await (const batch of input.batches(group === undefined ? read : [...read, group])) {
        for (let from = 0; from < batch.numRows; from += chunkRows) {
          const n = Math.min(chunkRows, batch.numRows - from);
          const targets: RawTargets =
            named !== undefined
              ? batchTargets(batch.column(named), kind, from, n, classes, start, name)
              : {
                  kind: "probs",
                  values: Float64Array.from(
                    batchScores(batch, { list: null, columns: probColumns, classes }, from, n, start, name),
                  ),
                };
          yield {
            start,
            rows: n,
            targets,
            ...(group !== undefined ? { groups: groupValues(batch, group, from, n, start, name) } : {}),
          };
          start += n;
        }
      }
    },
  };
}

/** A target column beside a list-of-lists column of scores: a list of token ids per sequence. */
function sequenceTargetKind(field: Field, name: string): TargetKind {
  if (isIntList(field.type)) return "index";
  throw new XentError(
    "format",
    `target column '${field.name}' has type ${typeName(field)}; beside a column of lists of lists of scores it must hold a list of token ids per sequence`,
    { file: name },
  );
}

interface SequenceColumns {
  list: number;
  target: number | undefined;
  id: number | undefined;
  group: number | undefined;
  classes: number;
  /** Sequences read so far, empty ones included. */
  seen: { sequences: number };
}

/**
 * A list-of-lists column's batches as chunks of tokens, each with its [sequence, position] and
 * sequence number; the target column (a list of token ids per sequence) must match every
 * sequence's length; an id or --group-by column's value is its sequence's.
 */
async function* sequenceChunks(
  batches: AsyncIterable<ColumnBatch>,
  c: SequenceColumns,
  chunkRows: number,
  name: string,
): AsyncGenerator<ScoreChunk> {
  let start = 0;
  let sequence = 0;
  const scoreLayout: ScoreLayout = { list: 0, columns: [], classes: c.classes };
  for await (const batch of batches) {
    const rows = batch.numRows;
    const first = batch.start ?? sequence;
    const outer = batch.column(c.list).data[0]!;
    const offsets = sequenceOffsets(outer, rows, first, name);
    const inner = makeVector(outer.children[0]!);
    const positions: ColumnBatch = {
      numRows: inner.length,
      column: () => inner,
      name: () => batch.name(c.list),
    };
    let labels: { vector: Vector; shift: number } | null = null;
    if (c.target !== undefined) {
      const data = batch.column(c.target).data[0]!;
      const shift = sameLengths(
        offsets,
        sequenceOffsets(data, rows, first, name),
        first,
        batch.name(c.target),
        name,
      );
      labels = { vector: makeVector(data.children[0]!), shift };
    }
    const groups = c.group === undefined ? null : groupValues(batch, c.group, 0, rows, first, name);
    for (const run of tokenRuns(offsets, first, chunkRows)) {
      const chunk: ScoreChunk = {
        start,
        rows: run.n,
        scores: batchScores(positions, scoreLayout, run.from, run.n, start, name),
        pos: run.pos,
        sequences: run.sequences,
      };
      if (labels)
        chunk.targets = batchTargets(
          labels.vector,
          "index",
          run.from + labels.shift,
          run.n,
          c.classes,
          start,
          name,
        );
      if (c.id !== undefined) {
        const v = batch.column(c.id);
        chunk.ids = Array.from(run.rows, (r) => String(v.get(r)));
      }
      if (groups) chunk.groups = Array.from(run.rows, (r) => groups[r]!);
      start += run.n;
      yield chunk;
    }
    sequence = first + rows;
    c.seen.sequences = sequence;
  }
}

/** A list column of token ids (one list per sequence) as chunks of tokens with their sequences. */
async function* sequenceTargetChunks(
  batches: AsyncIterable<ColumnBatch>,
  column: number,
  group: number | undefined,
  chunkRows: number,
  name: string,
): AsyncGenerator<TargetChunk> {
  let start = 0;
  let sequence = 0;
  for await (const batch of batches) {
    const rows = batch.numRows;
    const first = batch.start ?? sequence;
    const data = batch.column(column).data[0]!;
    const offsets = sequenceOffsets(data, rows, first, name);
    const values = makeVector(data.children[0]!);
    const groups = group === undefined ? null : groupValues(batch, group, 0, rows, first, name);
    for (const run of tokenRuns(offsets, first, chunkRows)) {
      yield {
        start,
        rows: run.n,
        targets: batchTargets(values, "index", run.from, run.n, 0, start, name),
        sequences: run.sequences,
        ...(groups ? { groups: Array.from(run.rows, (r) => groups[r]!) } : {}),
      };
      start += run.n;
    }
    sequence = first + rows;
  }
}

/** Each run's first row, given the runs' row counts. */
export function firstRows(counts: readonly number[]): number[] {
  const out: number[] = new Array(counts.length);
  let at = 0;
  counts.forEach((n, i) => {
    out[i] = at;
    at += n;
  });
  return out;
}

/** A column's values as group names; a null is an error naming the row (no group to put it in). */
function groupValues(
  batch: ColumnBatch,
  column: number,
  from: number,
  n: number,
  start: number,
  name: string,
) {
  const v = batch.column(column);
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const x = v.get(from + i);
    if (x === null || x === undefined)
      throw new XentError("value", `null --group-by value in column '${batch.name(column)}'`, {
        file: name,
        row: start + i,
      });
    out[i] = String(x);
  }
  return out;
}

/** The bytes of a stream after its first `n`. */
async function* skipBytes(chunks: AsyncIterable<Uint8Array>, n: number): AsyncGenerator<Uint8Array> {
  let left = n;
  for await (const chunk of chunks) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}
