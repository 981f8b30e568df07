import type { RowPositions, Scores } from "../core/types.js";
import type { NpyDtype, NpyHeader } from "./npy/header.js";

/** Raw target values as a file holds them, before class names are resolved. */
export type RawTargets =
  | { kind: "index"; values: Float64Array }
  | { kind: "name"; values: string[] }
  | { kind: "probs"; values: Float64Array };

export type TargetKind = RawTargets["kind"];

export type InputFormat = "npy" | "npz" | "safetensors" | "csv" | "tsv" | "arrow" | "arrows" | "parquet";

/** What `inputs` in the JSON output says of a file. */
export interface InputInfo {
  path: string;
  format: InputFormat;
  /** NPZ member or Arrow column the values come from. */
  member?: string;
  compression?: string;
  /** gzip or zstd around the whole file ("gzip", "zstd+gzip" for nested ones). */
  wrapper?: string;
  dtype?: string;
  shape?: number[];
  kind?: TargetKind;
  column?: string;
}

/**
 * A run of consecutive rows read from the predictions file. Readers choose the size (about
 * `chunkRows`, or an Arrow record batch's); join (join.ts) lines predictions and targets up.
 */
export interface ScoreChunk {
  start: number;
  rows: number;
  scores: Scores;
  /** Present when the predictions file has a target column. */
  targets?: RawTargets | undefined;
  ids?: string[] | undefined;
  /** Each row's `--group-by` value, when this file has the column. */
  groups?: string[] | undefined;
  lines?: Uint32Array | undefined;
  /** List-of-lists layouts: each row's [sequence, position] and sequence number. */
  pos?: RowPositions | undefined;
  sequences?: Float64Array | undefined;
}

/** A run of consecutive rows read from a targets file. */
export interface TargetChunk {
  start: number;
  rows: number;
  targets: RawTargets;
  lines?: Uint32Array | undefined;
  /** Row ids from the targets table's id column (pandas' index, say). */
  ids?: string[] | undefined;
  /** Each row's `--group-by` value, when this file has the column. */
  groups?: string[] | undefined;
  /** A list column of targets (one list per sequence): each row's sequence number. */
  sequences?: Float64Array | undefined;
}

/**
 * A table whose first record may be a header or data (`0` atop a labels column): settled from
 * the row counts of both inputs before any row is read (settleHeaders.ts).
 */
export interface PendingHeader {
  file: string;
  /** The first record, for the message. */
  first: string;
  /** `--` or `--targets-`: the prefix of the flags that decide it. */
  flag: string;
  /** Records in the file, the first one included; null when they cannot be counted (standard input). */
  records(): Promise<number | null>;
  settle(isHeader: boolean): void;
}

/**
 * What every input is: opened, described (info), read in chunks, and disposed of, which releases
 * its files whichever way a run ends (its chunks may never have been read: worker threads read
 * the file themselves). Disposing twice is harmless.
 */
export interface Source extends AsyncDisposable {
  info: InputInfo;
}

/** What every source can say about its rows before they are read. */
export interface RowsAhead {
  /** Set while the first record's role is open. */
  pendingHeader?: PendingHeader | undefined;
  /** The number of rows, when it can be known without evaluating (null: unknown). */
  countRows?: () => Promise<number | null>;
  /** How the header was decided, said with a row-count mismatch (undefined: nothing to say). */
  headerNote?: () => string | undefined;
}

/** An NPY file whose data can be read at any offset, for worker threads to share out. */
export interface PositionalNpy {
  path: string;
  header: NpyHeader;
  axis: number;
}

/** What a table input says of `--group-by`: the column's name, or null when it has none. */
export interface Grouped {
  groupColumn?: string | null;
}

export interface PredictionSource extends Source, RowsAhead, Grouped {
  /** What the file says of itself, complete at open (it is never changed while reading). */
  info: InputInfo;
  /**
   * Tables: the rows are known only once read, so `info.shape` is `[0, C]` at open and the run
   * reports `[rows, C]` from its count.
   */
  rowsCounted?: boolean;
  classes: number;
  /** Class names from the file (CSV header), or null. */
  classNames: string[] | null;
  /** The kind of the target column the file carries, or null when it carries none. */
  targetKind: TargetKind | null;
  /** The target column's name (or 1-based number) when the file carries targets. */
  targetColumn: string | null;
  /** How much of the input has been read, in [0, 1], or null when its size is unknown. */
  progress(): number | null;
  /**
   * Where worker threads may read the rows themselves (a plain NPY file beside NPY targets, an
   * uncompressed Arrow file with its own target column): runs of rows at their byte offsets, or
   * null when this input or these targets do not allow it. Absent for inputs read once (streams).
   */
  segments?: (chunkRows: number, targets: TargetSource | null) => Promise<DirectPlan | null>;
  /** Tabular formats: every column with its type and what xent reads it as (`xent inspect`). */
  columns?: ColumnInfo[];
  /** Parquet: its row groups and the program that wrote it (`xent inspect`). */
  rowGroups?: { count: number; writtenBy: string | null };
  /**
   * Parquet with its own index targets and no id column: what worker threads need to decode row
   * groups themselves (null with a targets file).
   */
  rowGroupPlan?: (targets: TargetSource | null) => RowGroupPlan | null;
  /** Tabular formats: the column names (or 0-based numbers), for messages. */
  columnNames?: string[];
  /**
   * A column of lists of lists (Arrow, Parquet): one list of positions per sequence, each a list
   * of scores; rows are tokens, and chunks carry each one's [sequence, position].
   */
  listOfLists?: boolean;
  /** A list-of-lists column: the sequences read so far (empty ones too). */
  sequencesRead?: () => number;
  /**
   * The rows in chunks of about `chunkRows`. `fromRow`: rows before it are not wanted (`--rows`);
   * a reader that can seek (Parquet: to the row group holding it) may start there, its chunks'
   * `start` still the rows' numbers in the whole. Others start at row 0.
   */
  chunks(chunkRows: number, fromRow?: number): AsyncIterable<ScoreChunk>;
}

export interface ColumnInfo {
  name: string;
  type: string;
  role: "scores" | "target" | "id" | "group" | "unused";
}

export interface TargetSource extends Source, RowsAhead, Grouped {
  info: InputInfo;
  kind: TargetKind;
  positional?: PositionalNpy;
  /** A list column of targets, one list per sequence: chunks carry each row's sequence number. */
  listOfLists?: boolean;
  chunks(chunkRows: number): AsyncIterable<TargetChunk>;
}

/**
 * A run of rows stored contiguously: `rows` × C scores at byte `scoresAt` of the predictions
 * file, `rows` targets at byte `targetsAt` of the targets file.
 */
export interface Segment {
  start: number;
  rows: number;
  scoresAt: number;
  targetsAt: number;
  /**
   * A compressed Arrow record batch (one segment each): the codec, and the byte lengths of its
   * scores and targets buffers at scoresAt and targetsAt (their 8-byte length prefix included).
   */
  codec?: "lz4" | "zstd" | undefined;
  scoresBytes?: number | undefined;
  targetsBytes?: number | undefined;
  /**
   * One float column per class (an uncompressed Arrow batch): where each class's values for the
   * segment's first row lie (scoresAt is then unused). The worker reads the columns and lays the
   * rows out.
   */
  columnsAt?: number[] | undefined;
  /** A compressed batch's class columns: each column buffer's byte length at columnsAt. */
  columnsBytes?: number[] | undefined;
  /**
   * A compressed batch cut by `--rows`: it is decoded from its start, and only its rows
   * [from, to) are evaluated (rows counted from the batch's first).
   */
  keep?: { from: number; to: number } | undefined;
  /**
   * Rows of a large compressed batch decoded into the job's temporary file first (parallel/spill.ts):
   * its scores (`scores`) are a block there at scoresAt (class by class: class j's rows at
   * j·rows), its targets there too when they are the file's own column (`targets`).
   */
  spilled?: { scores: boolean; targets: boolean } | undefined;
  /**
   * A compressed batch whose class columns hold their values as they are (LZ4's stored blocks):
   * column j's rows in blocks of `blockRows` rows, block b's first byte at blocks[j][b]. The plan
   * reads them in place (parallel/spill.ts); workers never see this.
   */
  stored?: StoredColumns | undefined;
}

export interface StoredColumns {
  blockRows: number;
  blocks: number[][];
}

/** A Parquet file's rows as worker threads read them: its columns' roles and its row groups. */
export interface RowGroupPlan {
  path: string;
  /** The name in messages. */
  name: string;
  /** The list column of scores, or null and one float column per class. */
  list: number | null;
  columns: number[];
  target: number;
  rowGroups: number;
}

/** Where worker threads find a source's rows in its files: segments and how values are stored. */
export interface DirectPlan {
  segments: Segment[];
  scores: NpyDtype;
  targets: NpyDtype;
  scoresPath: string;
  targetsPath: string;
}
