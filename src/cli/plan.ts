import { existsSync } from "node:fs";
import type { Readable } from "node:stream";
import type { LossOptions, Task } from "../core/types.js";
import { usage, XentError } from "../errors.js";
import { languageModelMetricNames } from "../lm/metrics.js";
import { tableClasses } from "../metrics/stats.js";
import { listColumns, TARGET_NAMES } from "../readers/columns.js";
import { NPY_MAGIC } from "../readers/npy/header.js";
import { openNpy } from "../readers/npy/npy.js";
import {
  archiveTargets,
  type OpenedPredictions,
  type OpenOptions,
  openPredictions,
  openTargets,
} from "../readers/open.js";
import { parseNumber } from "../readers/parseNumber.js";
import { readSmallFile } from "../readers/readSmallFile.js";
import { settleHeaders } from "../readers/settleHeaders.js";
import type {
  InputFormat,
  InputInfo,
  PredictionSource,
  Source,
  TargetKind,
  TargetSource,
} from "../readers/types.js";
import type { RunInfo } from "../wire/eval.js";
import { DEFAULT_THRESHOLD } from "../wire/options.js";
import type { OutputFormat } from "./printers.js";
import { type RowRange, type RowSpec, resolveRowSpec } from "./rowRange.js";
import type { Settings } from "./settings.js";
import { type AssertSpec, checkAssertMetrics } from "./values.js";

/** `xent eval`'s flags, parsed and checked, before any file is opened. */
export interface EvalArgs {
  predictions: string;
  targets: string | undefined;
  inputFormat: InputFormat | undefined;
  targetsFormat: InputFormat | undefined;
  classAxis: number | undefined;
  targetColumn: string | undefined;
  idColumn: string | undefined;
  scoreColumns: string | undefined;
  dropColumns: string | undefined;
  /** `--header` / `--no-header` (both files), undefined: detected. */
  header: boolean | undefined;
  /** `--targets-header` / `--targets-no-header`, else `header`. */
  targetsHeader: boolean | undefined;
  targetType: TargetKind | undefined;
  logitsColumn: string | undefined;
  logitsKey: string | undefined;
  targetsKey: string | undefined;
  /** `FILE` or `a,b,c`, resolved by config.ts. */
  classNames: string | undefined;
  /** `FILE` or `w0,w1,…`, resolved by config.ts once the class count is known. */
  classWeights: string | undefined;
  /** `--task`; undefined: binary for one score per row, else multiclass. */
  task: Task | undefined;
  /** `--pos-weight`: `p` or `p0,p1,…`, or a file, as class weights. */
  posWeight: string | undefined;
  threshold: number | undefined;
  loss: Omit<LossOptions, "classWeights" | "task" | "posWeight" | "threshold">;
  format: OutputFormat;
  perClass: boolean;
  perSample: boolean;
  emitState: boolean;
  sortClasses: "class" | "loss";
  topClasses: number | null;
  /** `--group-by NAME|INDEX`: a column of the predictions or targets table (or of `--groups`' file). */
  groupBy: string | undefined;
  /** `--groups FILE`: one group value per row. */
  groupsFile: string | undefined;
  /** `--shift-labels`: position t scored against the label at t + 1 (Hugging Face's causal LM loss). */
  shiftLabels: boolean;
  /** `--per-sequence`: per-sequence numbers (as groups) and sequence_perplexity. */
  perSequence: boolean;
  /** `--bytes FILE|N`: bytes of text, per sequence (a file of numbers) or in total. */
  bytes: string | undefined;
  /** `--top-groups K`: groups shown in the table, worst loss first (0: all). */
  topGroups: number;
  /** `--rows START:END` or `--shard K/N`: a slice of the predictions' rows, or null for all. */
  rowSpec: RowSpec | null;
  worst: number;
  asserts: AssertSpec[];
  chunkRows: number | undefined;
  threads: number;
  /** What `-` reads; process.stdin unless a test feeds its own. */
  stdin?: Readable;
  progress: boolean;
  /** `--quiet`: no progress bar and no warnings. */
  quiet: boolean;
}

/** Everything `xent eval` needs to run: open sources, resolved options, the run's description. */
export interface EvalPlan {
  /**
   * Positions per sequence of a fixed (B, T, V) layout, when the rows' sequence numbers are needed
   * (--shift-labels, --per-sequence, a list column of targets to check them against); null when
   * not needed or when the rows bring their own (a list-of-lists column).
   */
  sequenceLength: number | null;
  /** `--rows` / `--shard`: rows [start, end) of the whole, or null for all. */
  range: RowRange | null;
  predictions: PredictionSource;
  targets: TargetSource | null;
  /** `--groups FILE`, read as a targets file of one value per row. */
  groups: TargetSource | null;
  classNames: string[] | null;
  loss: LossOptions;
  run: RunInfo;
  chunkRows: number;
}

/** About this many values per block: large enough to amortise per-block work, small enough for cache and memory. */
const BLOCK_VALUES = 1 << 20;
/**
 * At most this many rows per block: each row's results take ~90 bytes whatever C, so 2^20 rows of
 * one score (binary) took 90 MB a block and a 10M-row run peaked at 430 MiB; 2^15 rows take 3 MB
 * (10M binary rows on two threads: 147 MiB peak and as fast as with 2^16-row blocks, 160 MiB).
 */
const BLOCK_ROWS = 1 << 15;
const PER_SAMPLE_BLOCK_ROWS = 1 << 14;

export async function planEval(
  args: EvalArgs,
  readers: Pick<Settings, "csvParser" | "arrowSlicing">,
): Promise<EvalPlan> {
  if ([args.predictions, args.targets, args.groupsFile].filter((f) => f === "-").length > 1)
    throw usage("only one input can be standard input (-)");
  const open: OpenOptions = {
    classAxis: args.classAxis,
    targetColumn: args.targetColumn,
    idColumn: args.idColumn,
    scoreColumns: args.scoreColumns,
    dropColumns: args.dropColumns,
    header: args.header,
    csvParser: readers.csvParser,
    arrowSlicing: readers.arrowSlicing,
    targetType: args.targetType,
    logitsColumn: args.logitsColumn,
    logitsKey: args.logitsKey,
    targetsKey: args.targetsKey,
    stdin: args.stdin,
    // With --groups FILE, --group-by names that file's column.
    groupColumn: args.groupsFile === undefined ? args.groupBy : undefined,
    // The targets table may hold the column instead.
    groupOptional: args.targets !== undefined,
  };
  const opened = await openPredictions(args.predictions, args.inputFormat, open, args.targets !== undefined);
  // Whatever fails from here on, the inputs opened so far are disposed of (files closed).
  const owned: Source[] = [opened.source];
  try {
    return await completePlan(args, open, opened, (source) => owned.push(source));
  } catch (e) {
    await Promise.allSettled(owned.map((source) => source[Symbol.asyncDispose]()));
    throw e;
  }
}

async function completePlan(
  args: EvalArgs,
  open: OpenOptions,
  opened: OpenedPredictions,
  own: (source: Source) => void,
): Promise<EvalPlan> {
  const predictions = opened.source;
  const format = predictions.info.format;
  const tabular = ["csv", "tsv", "arrow", "arrows", "parquet"].includes(format);
  if (args.idColumn !== undefined && !tabular && args.targets === undefined) {
    throw usage("--id-column applies to CSV, TSV, Arrow and Parquet tables");
  }
  if ((args.scoreColumns ?? args.dropColumns) !== undefined && !tabular) {
    throw usage("--score-columns and --drop-columns apply to CSV, TSV, Arrow and Parquet predictions");
  }
  const C = predictions.classes;
  if (!(Number.isSafeInteger(C) && C >= 0 && C <= MAX_CLASSES)) {
    throw new XentError(
      "shape",
      `${C} classes: xent reads from 0 to ${MAX_CLASSES} per row (a row's scratch is 8 bytes a class)`,
      { file: predictions.info.path },
    );
  }
  if (args.perClass && C > MAX_PER_CLASS) {
    throw usage(`--per-class takes at most ${MAX_PER_CLASS} classes; the predictions have ${C}`);
  }
  const task = args.task ?? (C === 1 ? "binary" : "multiclass");
  checkTaskOptions(args, task, C);
  if (args.perSequence && (args.groupBy !== undefined || args.groupsFile !== undefined))
    throw usage("--per-sequence groups the rows by sequence: it does not go with --group-by or --groups");
  const lm = args.shiftLabels || args.perSequence || args.bytes !== undefined;
  const lmNames = languageModelMetricNames(
    lm ? { perSequence: args.perSequence, bytes: args.bytes === undefined ? null : 0 } : undefined,
  );
  checkAssertMetrics(
    args.asserts,
    task,
    args.loss.topK,
    args.groupBy !== undefined || args.groupsFile !== undefined || args.perSequence,
    lmNames,
  );
  const tooLarge = args.loss.topK.find((k) => k >= C);
  if (tooLarge !== undefined) {
    throw usage(
      `--top-k ${tooLarge}: k must be below the number of classes (${C}); top-${C} accuracy is always 1`,
    );
  }
  if (args.loss.smoothingStyle === "others" && C === 1) {
    throw usage(
      "--smoothing-style others needs at least 2 classes (it spreads e over the C − 1 other classes)",
    );
  }

  let targets: TargetSource | null = null;
  if (args.targets !== undefined) {
    // --id-column names the targets' column when the predictions are no table (NPY).
    const targetOptions = {
      ...open,
      header: args.targetsHeader,
      idColumn: tabular ? undefined : args.idColumn,
      groupColumn: predictions.groupColumn || args.groupsFile !== undefined ? undefined : args.groupBy,
      groupOptional: false,
    };
    targets = await openTargets(args.targets, args.targetsFormat, targetOptions, opened);
    own(targets);
  } else if (opened.archive !== null) {
    targets = await archiveTargets(opened.archive, open, opened.layout!, false);
    own(targets);
  } else if (predictions.targetKind === null) {
    const columns = predictions.columnNames
      ? `; its columns are ${listColumns(predictions.columnNames.map((name) => ({ name, numeric: true })))}`
      : "";
    throw usage(
      `no targets: give a targets file, or a target column (${TARGET_NAMES.join(", ")}, or --target-column) in ${predictions.info.path}${columns}`,
    );
  }
  await settleHeaders(predictions, targets);
  let groups: TargetSource | null = null;
  if (args.groupsFile !== undefined) {
    groups = await openTargets(
      args.groupsFile,
      undefined,
      {
        ...open,
        targetColumn: args.groupBy,
        idColumn: undefined,
        groupColumn: undefined,
        targetType: undefined,
      },
      opened,
    );
    own(groups);
    await settleHeaders(predictions, groups);
  } else if (args.groupBy !== undefined && !predictions.groupColumn && !targets?.groupColumn)
    throw usage(
      `--group-by ${args.groupBy}: names a column of a table (CSV, TSV, Arrow, Parquet); neither input is one that has it`,
    );

  // Binary: one score stands for two classes, whose names (if any) come from --class-names.
  const names = tableClasses(task, C);
  const classNames =
    args.classNames !== undefined
      ? readClassNames(args.classNames, names)
      : task === "binary"
        ? null
        : predictions.classNames;
  const classWeights =
    args.classWeights === undefined ? null : await readClassWeights(args.classWeights, C, "--class-weights");
  const posWeight =
    args.posWeight === undefined
      ? null
      : await readClassWeights(args.posWeight, task === "binary" ? 1 : C, "--pos-weight", true);
  const loss: LossOptions = {
    ...args.loss,
    task,
    classWeights,
    posWeight,
    threshold: args.threshold ?? DEFAULT_THRESHOLD,
  };
  const targetsInfo = targets
    ? targets.info
    : {
        path: predictions.info.path,
        format: predictions.info.format,
        kind: predictions.targetKind!,
        column: predictions.targetColumn!,
      };
  const groupBy =
    args.groupsFile !== undefined
      ? (groups?.info.column ?? args.groupBy ?? "group")
      : args.groupBy === undefined
        ? undefined
        : (predictions.groupColumn ?? targets?.groupColumn ?? args.groupBy);
  let sequenceLength: number | null = null;
  const layout = opened.layout;
  const vocabularyLast =
    layout !== null && layout.axis === layout.shape.length - 1 && layout.shape.length >= 2;
  if (lm) {
    if (task !== "multiclass")
      throw usage("--shift-labels, --per-sequence and --bytes are for multiclass (token) predictions");
    if (!vocabularyLast && !predictions.listOfLists)
      throw usage(
        "--shift-labels, --per-sequence and --bytes need logits of shape (B, T, V) or (T, V) with the vocabulary last (NPY, NPZ, safetensors), or an Arrow/Parquet column of lists of lists (one list of positions per sequence)",
      );
  }
  if (vocabularyLast && (lm || targets?.listOfLists)) sequenceLength = layout.shape[layout.shape.length - 2]!;
  else if (targets?.listOfLists && predictions.listOfLists !== true && layout !== null)
    throw usage(
      `${targets.info.path} holds a list of targets per sequence: the predictions need the vocabulary on their last axis, (B, T, V)`,
    );
  // Rows of inputs of more than two axes carry their coordinates over the other axes.
  const positions = predictions.listOfLists
    ? { dims: 2, shape: null }
    : layout !== null && layout.shape.length > 2
      ? { dims: layout.shape.length - 1, shape: layout.shape.filter((_, d) => d !== layout.axis) }
      : undefined;
  const bytes = args.bytes === undefined ? null : readBytes(args.bytes);
  let range: RowRange | null = null;
  if (args.rowSpec !== null) {
    if (predictions.listOfLists)
      throw usage("--rows and --shard count rows of the predictions: not yet for a column of lists of lists");
    range = resolveRowSpec(args.rowSpec, (await predictions.countRows?.()) ?? null, predictions.info.path);
  }
  return {
    sequenceLength,
    range,
    predictions,
    targets,
    groups,
    classNames,
    loss,
    // Printing every row turns each block's results into text: smaller blocks keep that text small.
    chunkRows:
      args.chunkRows ??
      Math.max(
        1,
        Math.min(
          args.perSample ? PER_SAMPLE_BLOCK_ROWS : BLOCK_ROWS,
          Math.floor(BLOCK_VALUES / Math.max(1, C)),
        ),
      ),
    run: {
      inputs: { predictions: predictions.info, targets: targetsInfo },
      options: loss,
      classNames,
      perSample: args.perSample,
      worst: args.worst,
      perClass: args.perClass,
      ...(positions ? { positions } : {}),
      ...(range ? { range } : {}),
      ...(lm ? { lm: { perSequence: args.perSequence, bytes } } : {}),
      display: {
        sortClasses: args.sortClasses,
        topClasses: args.topClasses,
        ...(groupBy !== undefined ? { groupBy, topGroups: args.topGroups } : {}),
        ...(args.perSequence ? { groupBy: "sequence", topGroups: args.topGroups } : {}),
      },
    },
  };
}

/** The predictions' info with the rows read: a table's shape is `[0, C]` until they are counted. */
export const predictionsInfo = (plan: EvalPlan, rows: number): InputInfo =>
  plan.predictions.rowsCounted
    ? { ...plan.run.inputs.predictions, shape: [rows, plan.predictions.classes] }
    : plan.run.inputs.predictions;

/** `--bytes N` (the text's bytes in all), or a file of one byte count per sequence (summed). */
function readBytes(spec: string): number {
  const text = /^\s*\d+\s*$/.test(spec)
    ? spec
    : readSmallFile(spec, SIDE_FILE_LIMIT, "--bytes").toString("utf8");
  let total = 0;
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === "") continue;
    const n = Number(line.trim());
    if (!Number.isSafeInteger(n) || n < 0)
      throw usage(`--bytes: '${line.trim().slice(0, 40)}' on line ${i + 1} is not a whole number of bytes`);
    total += n;
  }
  if (total === 0) throw usage("--bytes: no bytes (bits per byte would divide by 0)");
  return total;
}

/** Class names and weight files are small: 64 MiB holds 4 million names of 16 bytes. */
const SIDE_FILE_LIMIT = 64 << 20;

/**
 * Per-class sums take ~3 exact sums and 3 counts per class in every thread: 262,144 classes (the
 * largest LLM vocabularies, 256k) take ~60 MiB; 10^7 took 8 GB and a minute before failing.
 */
export const MAX_PER_CLASS = 1 << 18;

/**
 * Classes per row: 16,777,216 is 64× the largest LLM vocabulary, and a count a file merely claims
 * (an NPY of shape (0, 2^30) is 128 bytes; a corrupted Arrow list offset) would otherwise become an
 * allocation of gigabytes before any row is read.
 */
export const MAX_CLASSES = 1 << 24;

/** `a,b,c`, or a file with one name per line. */
function readClassNames(spec: string, C: number): string[] {
  const names = existsSync(spec)
    ? readSmallFile(spec, SIDE_FILE_LIMIT, "--class-names")
        .toString("utf8")
        .split(/\r?\n/)
        .map((s) => s.trim())
        .filter((s) => s !== "")
    : spec.split(",").map((s) => s.trim());
  if (names.length !== C) throw usage(`--class-names: ${names.length} names for ${C} classes`);
  if (new Set(names).size !== names.length) throw usage("--class-names: names must be distinct");
  return names;
}

/**
 * What each task allows: binary needs one score per row and has no class weights (PyTorch's
 * `weight` would be per row); softmax-only flags (top-k, "others" smoothing, temperature) and
 * sigmoid-only ones (pos_weight, threshold) are refused where they mean nothing.
 */
function checkTaskOptions(args: EvalArgs, task: Task, C: number): void {
  if (task === "binary" && C !== 1) {
    throw usage(
      `--task binary takes one score per row (a logit or P(class 1)); the predictions have ${C} per row (use --task multiclass for ${C} class scores)`,
    );
  }
  if (task === "multiclass") {
    if (args.posWeight !== undefined) throw usage("--pos-weight applies to --task binary and multilabel");
    if (args.threshold !== undefined) throw usage("--threshold applies to --task binary and multilabel");
    return;
  }
  const why = task === "binary" ? "binary (one score per row)" : "multilabel";
  if (task === "binary" && args.classWeights !== undefined)
    throw usage(
      "--class-weights has no meaning for --task binary (one score per row); --pos-weight weighs the positive class",
    );
  if (args.loss.topK.length > 0) throw usage(`--top-k has no meaning for --task ${why}`);
  if (args.loss.smoothingStyle !== "uniform")
    throw usage(
      `--smoothing-style others is for softmax targets; --task ${why} smooths as Keras: y(1-e) + e/2`,
    );
  if (args.loss.temperature !== 1) throw usage(`--temperature applies to --task multiclass`);
}

/** `w0,w1,…`, a text file of numbers (comma, space or newline separated) or a 1-D NPY file. */
async function readClassWeights(
  spec: string,
  C: number,
  flag: string,
  broadcast = false,
): Promise<Float64Array> {
  let values: number[];
  if (existsSync(spec)) {
    const bytes = readSmallFile(spec, SIDE_FILE_LIMIT, "--class-weights");
    if (NPY_MAGIC.equals(bytes.subarray(0, 6))) {
      const array = await openNpy(spec);
      values = [];
      try {
        if (array.header.shape.length !== 1)
          throw new XentError("shape", `${flag} must be a 1-D array`, { file: spec });
        for await (const block of array.values(1 << 16)) values.push(...block.data);
      } finally {
        await array.close();
      }
    } else {
      values = bytes
        .toString("utf8")
        .split(/[\s,]+/)
        .filter((s) => s !== "")
        .map((s) => parseNumber(s) ?? Number.NaN);
    }
  } else {
    values = spec.split(",").map((s) => parseNumber(s) ?? Number.NaN);
  }
  const bad = values.findIndex((w) => !(w >= 0 && Number.isFinite(w)));
  if (bad >= 0)
    throw usage(
      `${flag}: weight ${bad} is not a finite number ≥ 0 (${spec.length > 40 ? "see the file" : spec})`,
    );
  // --pos-weight p is one weight for every label, as PyTorch broadcasts a (1,) pos_weight.
  if (values.length !== C && !(broadcast && values.length === 1))
    throw usage(`${flag}: ${values.length} weights for ${C} ${broadcast && C === 1 ? "score" : "classes"}`);
  return Float64Array.from(values);
}
