import { type Command, Option } from "commander";
import { ProbabilityLook } from "../../core/probabilityLook.js";
import type { RowResults } from "../../core/rowResults.js";
import type { RowBlock } from "../../core/types.js";
import {
  DEFAULT_IGNORE_INDEX,
  type InputType,
  type OnNan,
  type Reduction,
  type SmoothingStyle,
  TASKS,
  type Task,
} from "../../core/types.js";
import { usage } from "../../errors.js";
import { type EvaluateOptions, evaluate } from "../../evaluate.js";
import { GroupStats } from "../../metrics/groups.js";
import type { Printer } from "../../output/printer.js";
import { Progress, type ProgressStream } from "../../output/progress.js";
import type { Writer } from "../../output/writer.js";
import { evaluateOnBlockWorkers } from "../../parallel/blockWorkers.js";
import { evaluateFilePlan } from "../../parallel/fileWorkers.js";
import { blockWorkerCount, earlyThreads, fileJob } from "../../parallel/plan.js";
import { JobThreads } from "../../parallel/threads.js";
import type { InputFormat, TargetKind } from "../../readers/types.js";
import { planBlocks } from "../blocks.js";
import { finish, type Outcome } from "../finish.js";
import { type EvalArgs, type EvalPlan, planEval, predictionsInfo } from "../plan.js";
import { makePrinter, type OutputFormat } from "../printers.js";
import { parseRowSpec } from "../rowRange.js";
import { readSettings, type Settings } from "../settings.js";
import { classAxis, INPUT_FORMATS, integer, number, parseAssert } from "../values.js";

/** `xent eval`: usage and options, their parsing, and the run. */

export const EXAMPLES = `
Examples:
  Loss and metrics as a table:
    xent eval logits.npy labels.csv
  PyTorch's label_smoothing=0.1 (uniform), and fairseq's style (1-e on the target, e/(C-1) elsewhere):
    xent eval logits.npy labels.csv --smoothing 0.1
    xent eval logits.npy labels.csv --smoothing 0.1 --smoothing-style others
  A binary classifier (one logit per row), and a multi-label one (one sigmoid per label):
    xent eval scores.npy labels.npy --pos-weight 3
    xent eval logits.npy multi_hot.npy --task multilabel --per-class
  A CI check: exits 1 if either assertion fails, 2 on bad input:
    xent eval logits.npy labels.npy --assert 'loss<=0.35' --assert 'accuracy>=0.9'
  Into a script:
    xent eval preds.csv --json | jq '.metrics.accuracy'
    xent eval preds.arrow --format ndjson | jq -c 'select(.type == "sample" and .loss > 5)'
  PyTorch's (N, C, d1, ...) layout, worst rows, per-class table sorted by loss:
    xent eval logits.npy labels.npy --class-axis 1 --worst 10 --per-class --sort loss
  What xent sees in a file:
    xent inspect preds.feather`;

export type { EvalArgs };

/** Adds `xent eval` to the program; `onArgs` receives the parsed, checked flags. */
export function defineEval(program: Command, onArgs: (args: EvalArgs) => void): void {
  const cmd = program
    .command("eval")
    .description("evaluate losses and metrics of predictions against targets")
    .argument(
      "<predictions>",
      "logits (or probabilities): NPY, NPZ, safetensors, CSV, TSV, Arrow IPC or Parquet (gzip/zstd too); - for standard input",
    )
    .argument(
      "[targets]",
      "class indices, class names or probabilities (else the predictions' target column or NPZ array)",
    );
  addEvalOptions(cmd)
    .addHelpText("after", EXAMPLES)
    .action((predictions: string, targets: string | undefined, o: Record<string, unknown>) => {
      onArgs(evalArgs(predictions, targets, o));
    });
}

/** The options `eval` and `compare` share: inputs, loss, output, performance. */
export function addEvalOptions(cmd: Command): Command {
  const collect = (value: string, previous: string[]) => [...previous, value];
  return cmd
    .optionsGroup("Inputs:")
    .addOption(
      new Option("--input-format <format>", "predictions format (default: from the content)").choices(
        INPUT_FORMATS,
      ),
    )
    .addOption(
      new Option("--targets-format <format>", "targets format (default: from the content)").choices(
        INPUT_FORMATS,
      ),
    )
    .option("--logits-column <name>", "Arrow, Parquet: the list column of scores (default: the only one)")
    .option(
      "--logits-key <key>",
      "NPZ, safetensors: the predictions array (default: logits, predictions or probs)",
    )
    .option("--targets-key <key>", "NPZ, safetensors: the targets array (default: labels, targets or y)")
    .option(
      "--class-axis <axis>",
      "the class axis of an NPY array, e.g. 1 for (N, C, d1, ...); default: last",
    )
    .option(
      "--target-column <name|index>",
      "target column (default: one named label, labels, target, y, y_true or class)",
    )
    .option(
      "--id-column <name|index>",
      "column whose values name the rows in per-sample output (default: id, sample_id, pandas' index)",
    )
    .option("--score-columns <spec>", "the score columns: names, globs (logit_*), index ranges (2:12)")
    .option("--drop-columns <spec>", "columns that are not scores (same SPEC as --score-columns)")
    .option("--header", "the first row of a CSV/TSV input is a header (default: detected)")
    .option("--no-header", "the first row of a CSV/TSV input is data")
    .option("--targets-header", "the first row of the targets CSV/TSV is a header")
    .option("--targets-no-header", "the first row of the targets CSV/TSV is data")
    .addOption(
      new Option("--target-type <type>", "what the targets hold (default: detected)").choices([
        "index",
        "name",
        "probs",
      ]),
    )
    .option("--class-names <file|a,b,c>", "class names, to match name targets and label output")
    .optionsGroup("Loss:")
    .addOption(
      new Option(
        "--task <task>",
        "multiclass (softmax), binary (one sigmoid score per row), multilabel (one per label); default: binary for one score per row, else multiclass",
      ).choices(TASKS),
    )
    .addOption(
      new Option("--input-type <type>", "what the predictions hold")
        .choices(["logits", "probs", "log-probs"])
        .default("logits"),
    )
    .option("--temperature <T>", "divide logits by T", "1")
    .option("--smoothing <e>", "label smoothing, 0 ≤ e ≤ 1", "0")
    .addOption(
      new Option(
        "--smoothing-style <style>",
        "uniform: e/C to every class (PyTorch); others: e/(C−1) to each non-target class",
      )
        .choices(["uniform", "others"])
        .default("uniform"),
    )
    .option("--class-weights <file|w0,w1,...>", "PyTorch's weight: one value ≥ 0 per class")
    .option(
      "--pos-weight <p|p0,p1,...>",
      "binary/multilabel: PyTorch's pos_weight (one value, or one per label)",
    )
    .option(
      "--threshold <t>",
      "binary/multilabel: a label is predicted when its probability is above t (default 0.5)",
    )
    .option("--ignore-index <k>", "rows whose target is k are left out", String(DEFAULT_IGNORE_INDEX))
    .addOption(
      new Option("--reduction <r>", "how per-sample losses are reduced")
        .choices(["mean", "sum", "none"])
        .default("mean"),
    )
    .option("--top-k <k1,k2>", "also report top-k accuracy for each k")
    .addOption(
      new Option("--on-nan <action>", "a NaN score is an error, or its row is skipped")
        .choices(["error", "skip"])
        .default("error"),
    )
    .optionsGroup("Output:")
    .addOption(
      new Option(
        "--format <format>",
        "table for people, json for scripts, ndjson/csv stream every row, markdown for CI summaries",
      )
        .choices(["table", "json", "ndjson", "csv", "markdown"])
        .default("table"),
    )
    .option("--json", "same as --format json")
    .option("--per-class", "per-class loss, accuracy and precision")
    .option("--per-sample", "one line per row (also with --reduction none)")
    .option("--worst <K>", "list the K rows with the largest loss")
    .addOption(
      new Option("--sort <key>", "order of the per-class table").choices(["class", "loss"]).default("class"),
    )
    .option("--top-classes <K>", "per-class rows shown in the table (default: all up to 35, else 30; 0: all)")
    .option(
      "--group-by <name|index>",
      "a column of the predictions or targets table: per-group counts, loss and metrics (JSON per_group)",
    )
    .optionsGroup("Language models:")
    .option("--shift-labels", "score position t against the label at t + 1 (Hugging Face's causal LM loss)")
    .option("--per-sequence", "per-sequence counts, loss and perplexity (as groups), and sequence_perplexity")
    .option(
      "--bytes <file|n>",
      "bytes of text (a file of one count per sequence, or the total): bits_per_byte",
    )
    .optionsGroup("Output:")
    .option("--groups <file>", "one group value per row (a CSV column, NPY, Arrow or Parquet), as --group-by")
    .option("--top-groups <K>", "groups shown in the table, worst loss first (0: all)", "10")
    .option(
      "--assert <expr>",
      "fail (exit 1) unless METRIC OP NUMBER holds, e.g. 'loss<=0.5'; repeatable",
      collect,
      [],
    )
    .option("--emit-state", "with --json: add the exact partial sums (`state`) for `xent merge`")
    .option("--no-progress", "no progress bar on stderr")
    .option("-q, --quiet", "no progress bar and no warnings on stderr")
    .optionsGroup("Performance:")
    .option("--chunk-rows <n>", "rows per block (default: about 1M values per block); never changes a number")
    .option("--threads <n>", "worker threads (default: all cores); never changes a number")
    .optionsGroup("Shards (one file over many machines; merge the --emit-state documents):")
    .option(
      "--rows <start:end>",
      "evaluate rows START to END of the predictions (END excluded; either may be left out)",
    )
    .option("--shard <k/n>", "evaluate shard K of N (K from 0): rows ⌊K·rows/N⌋ to ⌊(K+1)·rows/N⌋");
}

/** `--targets-header` / `--targets-no-header` (commander negates only `--no-…`), else `--header` / `--no-header`. */
function targetsHeader(o: Record<string, unknown>): boolean | undefined {
  if (o.targetsHeader && o.targetsNoHeader)
    throw usage("--targets-header and --targets-no-header contradict");
  if (o.targetsHeader) return true;
  if (o.targetsNoHeader) return false;
  return o.header as boolean | undefined;
}

export function evalArgs(
  predictions: string,
  targets: string | undefined,
  o: Record<string, unknown>,
): EvalArgs {
  const s = (k: string) => o[k] as string | undefined;
  const topK =
    s("topK") === undefined
      ? []
      : s("topK")!
          .split(",")
          .map((k) => integer("--top-k", k.trim(), 1));
  const smoothing = number("--smoothing", s("smoothing")!, (x) => x >= 0 && x <= 1, "a number from 0 to 1");
  const temperature = number(
    "--temperature",
    s("temperature")!,
    (x) => x > 0 && Number.isFinite(x),
    "a number > 0",
  );
  const inputType = s("inputType") as InputType;
  if (temperature !== 1 && inputType !== "logits")
    throw usage("--temperature applies to logits only (--input-type logits)");
  const ignoreIndex = number("--ignore-index", s("ignoreIndex")!, Number.isSafeInteger, "a whole number");
  const format = o.json ? "json" : (s("format") as OutputFormat);
  if (o.emitState && format !== "json")
    throw usage("--emit-state goes with --format json (the state is part of the document)");
  if (format === "markdown" && (o.perSample || o.reduction === "none"))
    throw usage("--format markdown prints the summary; per-sample rows go to --format csv, ndjson or json");
  return {
    predictions,
    targets,
    inputFormat: s("inputFormat") as InputFormat | undefined,
    targetsFormat: s("targetsFormat") as InputFormat | undefined,
    classAxis: classAxis(s("classAxis")),
    targetColumn: s("targetColumn"),
    idColumn: s("idColumn"),
    scoreColumns: s("scoreColumns"),
    dropColumns: s("dropColumns"),
    header: o.header as boolean | undefined,
    targetsHeader: targetsHeader(o),
    targetType: s("targetType") as TargetKind | undefined,
    logitsColumn: s("logitsColumn"),
    logitsKey: s("logitsKey"),
    targetsKey: s("targetsKey"),
    classNames: s("classNames"),
    classWeights: s("classWeights"),
    task: s("task") as Task | undefined,
    posWeight: s("posWeight"),
    threshold:
      s("threshold") === undefined
        ? undefined
        : number("--threshold", s("threshold")!, (x) => x >= 0 && x <= 1, "a number from 0 to 1"),
    loss: {
      inputType,
      temperature,
      smoothing,
      smoothingStyle: s("smoothingStyle") as SmoothingStyle,
      ignoreIndex,
      reduction: s("reduction") as Reduction,
      topK: [...new Set(topK)].sort((a, b) => a - b),
      onNan: s("onNan") as OnNan,
    },
    format,
    perClass: Boolean(o.perClass),
    // ndjson and csv exist to stream every row.
    perSample: Boolean(o.perSample) || s("reduction") === "none" || format === "ndjson" || format === "csv",
    emitState: Boolean(o.emitState),
    sortClasses: s("sort") as "class" | "loss",
    topClasses: s("topClasses") === undefined ? null : integer("--top-classes", s("topClasses")!, 0),
    groupBy: s("groupBy"),
    groupsFile: s("groups"),
    shiftLabels: Boolean(o.shiftLabels),
    perSequence: Boolean(o.perSequence),
    bytes: s("bytes"),
    rowSpec: parseRowSpec(s("rows"), s("shard")),
    topGroups: integer("--top-groups", s("topGroups")!, 0),
    worst: s("worst") === undefined ? 0 : integer("--worst", s("worst")!, 0),
    asserts: (o.assert as string[]).map((e) => parseAssert(e)),
    chunkRows: s("chunkRows") === undefined ? undefined : integer("--chunk-rows", s("chunkRows")!, 1),
    threads: s("threads") === undefined ? 0 : integer("--threads", s("threads")!, 1),
    progress: o.progress !== false && !o.quiet,
    quiet: Boolean(o.quiet),
  };
}

/** A block without the group values a `--group-by` run reads with every row: a reader's bug. */
function missingGroups(): never {
  throw new Error("a block without --group-by values");
}

/** What a run needs of its process besides stdout. */
export interface RunIO {
  stderr: ProgressStream;
  /** Registers what to undo when the run is interrupted (a signal) or fails. */
  onAbort(cleanup: () => void): void;
  settings: Settings;
}

/** Tests run commands in-process with this: stderr, no abort hooks, the environment as it is now. */
export const quietIO = (): RunIO => ({
  stderr: process.stderr,
  onAbort: () => {},
  settings: readSettings(process.env, false),
});

/** Runs `xent eval` to `out`; throws XentError / BrokenPipe. */
export async function runEval(args: EvalArgs, out: Writer, io: RunIO = quietIO()): Promise<Outcome> {
  // Started now, they boot while the inputs' metadata is read; ended however the run ends.
  const early = earlyThreads(args.predictions, args.threads, args.perSample, io.settings.parallelMinBytes);
  const threads = early > 0 ? new JobThreads().startAll(early) : null;
  try {
    return await planAndRun(args, out, io, threads);
  } finally {
    await threads?.close();
  }
}

async function planAndRun(
  args: EvalArgs,
  out: Writer,
  io: RunIO,
  threads: JobThreads | null,
): Promise<Outcome> {
  const plan = await planEval(args, io.settings);
  const printer = await makePrinter(args.format, out, io.settings.colour);
  io.onAbort(() => printer.abort?.());
  const progress =
    args.progress && io.stderr.isTTY === true
      ? new Progress(io.stderr, () => plan.predictions.progress(), Date.now, io.settings.progressDelayMs)
      : null;
  if (progress) io.onAbort(() => progress.done());
  try {
    return await evaluateAndPrint(plan, args, out, io, printer, progress, threads);
  } catch (e) {
    // Whatever the caller does with the error, the spool goes (main's abort also runs it on signals).
    printer.abort?.();
    progress?.done();
    throw e;
  } finally {
    // The inputs are released however the run ends (worker threads may not have read them here).
    await Promise.allSettled([
      plan.predictions[Symbol.asyncDispose](),
      plan.targets?.[Symbol.asyncDispose](),
      plan.groups?.[Symbol.asyncDispose](),
    ]);
  }
}

async function evaluateAndPrint(
  plan: EvalPlan,
  args: EvalArgs,
  out: Writer,
  io: RunIO,
  printer: Printer,
  progress: Progress | null,
  threads: JobThreads | null,
): Promise<Outcome> {
  await printer.begin(plan.run);
  const { blocks, transformed } = planBlocks(plan, args);
  // A fixed (B, T, V) layout's shift is a function of the row index: worker threads that read the
  // file themselves do it (reading the next label), at the speed of a plain run. Per-sequence
  // groups and a list column of labels (its sequences checked) take the blocks above.
  const workersShift =
    plan.sequenceLength !== null && !args.perSequence && plan.groups === null && !plan.targets?.listOfLists;
  const groupBy = plan.run.display.groupBy;
  // Groups are summed here, from every block's per-row results (which worker threads send back).
  const groups = groupBy === undefined ? null : new GroupStats(plan.predictions.classes, plan.loss, groupBy);
  const onRows =
    args.perSample || groups
      ? async (res: RowResults, block: RowBlock) => {
          if (groups) groups.add(res, block.groups ?? missingGroups());
          if (args.perSample) await printer.samples(res, block);
        }
      : undefined;
  const evaluation: EvaluateOptions = {
    classes: plan.predictions.classes,
    loss: plan.loss,
    perClass: args.perClass,
    worst: args.perSample ? 0 : args.worst,
    predictionsPath: plan.predictions.info.path,
    onRows,
    onProgress: progress ? (rows) => progress.update(rows) : undefined,
    look: plan.loss.inputType === "logits" ? new ProbabilityLook(plan.loss.task === "multiclass") : undefined,
  };
  const parallel = {
    predictions: plan.predictions,
    targets: plan.targets,
    loss: plan.loss,
    chunkRows: plan.chunkRows,
    perClass: args.perClass,
    // Threads that read the file themselves send no per-row results back (groups), and read the
    // rows as stored: any transform of the blocks above (--shift-labels moves the targets) needs them.
    perSample: args.perSample || groups !== null || (transformed && !workersShift),
    shiftLength: workersShift && args.shiftLabels ? plan.sequenceLength : null,
    range: plan.range,
    worst: args.worst,
    threads: args.threads,
    minBytes: io.settings.parallelMinBytes,
    spill: {
      dir: io.settings.tempDir,
      minBytes: io.settings.spillMinBytes,
      runBytes: io.settings.spillRunBytes,
    },
  };
  const job = await fileJob(parallel);
  // Started early for a file job that did not come: they would take cores from this thread.
  if (!job) void threads?.close();
  const pool = job ? 0 : blockWorkerCount(parallel);
  if (io.settings.debug) {
    const how = job
      ? `${count(job.workers, "thread")} reading the file (${"segments" in job.job ? count(job.job.segments.length, "segment") : count(job.job.parquet.rowGroups, "row group")})${job.inPlace ? `, ${job.inPlace} ${job.inPlace === 1 ? "batch" : "batches"} of LZ4 class columns read in place` : ""}${job.spill ? `, ${Math.ceil(job.spill.bytes / 2 ** 20)} MiB decoded to a temporary file first` : ""}`
      : pool > 1
        ? `${pool} threads fed blocks`
        : "one thread";
    io.stderr.write(`xent: debug: evaluating on ${how}\n`);
  }
  const stats = job
    ? await evaluateFilePlan(job, evaluation.onProgress, evaluation.look, threads ?? undefined)
    : pool > 1
      ? await evaluateOnBlockWorkers(blocks, evaluation, pool)
      : await evaluate(blocks, evaluation);
  progress?.done();
  // A stream's rows are not counted ahead: a range past its end is found here.
  if (plan.range && stats.rows === 0)
    throw usage(`--rows ${plan.range.start}:…: ${plan.predictions.info.path} has no row ${plan.range.start}`);
  const warn = (text: string) => {
    if (!args.quiet) io.stderr.write(`xent: warning: ${text}\n`);
  };
  if (evaluation.look?.suspicious) {
    const what = evaluation.look.rowsSumToOne ? "every row of" : "every score in";
    const sums = evaluation.look.rowsSumToOne ? " and sums to 1" : "";
    warn(
      `${what} ${plan.predictions.info.path} lies in [0, 1]${sums}: are these probabilities? pass --input-type probs (they are read as logits)`,
    );
  }
  if (args.format === "csv" && args.perClass)
    warn("--format csv prints per-sample rows only: the per-class table is in --format json or table");
  const run = {
    ...plan.run,
    inputs: { ...plan.run.inputs, predictions: predictionsInfo(plan, stats.rows) },
  };
  // A shard (--rows, --shard) numbers sequences as the whole file does: its count is the file's.
  const fileRows = plan.range ? (plan.range.total ?? plan.range.end) : stats.rows;
  const sequences =
    plan.predictions.sequencesRead?.() ??
    (plan.sequenceLength ? Math.ceil(fileRows / plan.sequenceLength) : 0);
  const { outcome, failed } = await finish(
    stats,
    run,
    args.asserts,
    args.emitState,
    printer,
    out,
    groups,
    sequences,
  );
  // csv has no place for assertion results: they go to stderr, as the exit code does to the shell.
  if (args.format === "csv")
    for (const a of failed) io.stderr.write(`xent: assertion failed: ${a.expr} (${a.value})\n`);
  return outcome;
}

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`;
