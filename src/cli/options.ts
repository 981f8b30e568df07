import { readFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { Argument, Command, CommanderError, Option } from "commander";
import type { InputType, LossOptions, OnNan, Reduction, SmoothingStyle } from "../core/types.js";
import { usage, XentError } from "../errors.js";
import { parseNumber } from "../readers/parseNumber.js";
import type { InputFormat, TargetKind } from "../readers/types.js";
import type { InspectArgs } from "./inspect.js";
import type { MergeArgs } from "./merge.js";

export type OutputFormat = "table" | "json" | "ndjson" | "csv";
export type Comparison = "<" | "<=" | ">" | ">=";

export interface AssertSpec {
  expr: string;
  metric: string;
  op: Comparison;
  threshold: number;
}

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
  loss: Omit<LossOptions, "classWeights">;
  format: OutputFormat;
  perClass: boolean;
  perSample: boolean;
  emitState: boolean;
  sortClasses: "class" | "loss";
  topClasses: number | null;
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

export type CommandLine =
  | { command: "eval"; args: EvalArgs }
  | { command: "completion"; shell: "bash" | "zsh" }
  | { command: "merge"; args: MergeArgs }
  | { command: "inspect"; args: InspectArgs }
  | { command: "none" };

export interface Streams {
  out: (text: string) => void;
  err: (text: string) => void;
}

const INPUT_FORMATS = ["npy", "npz", "csv", "tsv", "arrow", "arrows"];

const EXAMPLES = `
Examples:
  Loss and metrics as a table:
    xent eval logits.npy labels.csv
  PyTorch's label_smoothing=0.1 (uniform), and fairseq's style (1-e on the target, e/(C-1) elsewhere):
    xent eval logits.npy labels.csv --smoothing 0.1
    xent eval logits.npy labels.csv --smoothing 0.1 --smoothing-style others
  A CI check: exits 1 if either assertion fails, 2 on bad input:
    xent eval logits.npy labels.npy --assert 'loss<=0.35' --assert 'accuracy>=0.9'
  Into a script:
    xent eval preds.csv --json | jq '.metrics.accuracy'
    xent eval preds.arrow --format ndjson | jq -c 'select(.type == "sample" and .loss > 5)'
  PyTorch's (N, C, d1, ...) layout, worst rows, per-class table sorted by loss:
    xent eval logits.npy labels.npy --class-axis 1 --worst 10 --per-class --sort loss
  What xent sees in a file:
    xent inspect preds.feather`;

/** The metric names `--assert` takes, given the `--top-k` list. */
export function metricNames(topK: readonly number[]): string[] {
  return [
    "loss",
    "nll",
    "perplexity",
    "accuracy",
    ...topK.map((k) => `top${k}_accuracy`),
    "entropy",
    "brier",
    "ece",
  ];
}

function number(flag: string, text: string, check: (x: number) => boolean, what: string): number {
  const x = parseNumber(text);
  if (x === undefined || !check(x)) throw usage(`${flag} ${text}: expected ${what}`);
  return x;
}

const integer = (flag: string, text: string, min: number) =>
  number(
    flag,
    text,
    (x) => Number.isSafeInteger(x) && x >= min,
    min === 0 ? "a whole number ≥ 0" : `a whole number ≥ ${min}`,
  );

/** `--class-axis K`: any whole number (negative counts from the end), or undefined. */
const classAxis = (text: string | undefined) =>
  text === undefined ? undefined : number("--class-axis", text, Number.isSafeInteger, "a whole number");

export function parseAssert(expr: string, topK: readonly number[]): AssertSpec {
  const m = /^\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>)\s*(\S+)\s*$/.exec(expr);
  const threshold = m ? parseNumber(m[3]!) : undefined;
  if (!m || threshold === undefined || Number.isNaN(threshold)) {
    throw usage(`--assert '${expr}': expected METRIC OP NUMBER, e.g. 'loss<=0.5' (OP is <, <=, > or >=)`);
  }
  const names = metricNames(topK);
  if (!names.includes(m[1]!))
    throw usage(`--assert '${expr}': unknown metric '${m[1]}'; known: ${names.join(", ")}`);
  return { expr: expr.replace(/\s+/g, ""), metric: m[1]!, op: m[2] as Comparison, threshold };
}

export function buildProgram(streams: Streams, onCommand: (line: CommandLine) => void): Command {
  const program = new Command("xent")
    .description(
      "Cross-entropy loss and calibration metrics for model prediction files, with PyTorch's exact semantics.",
    )
    .version(version(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: streams.out, writeErr: streams.err, outputError: () => {} })
    .showHelpAfterError(false)
    .addHelpText("after", EXAMPLES);
  program.addHelpText(
    "afterAll",
    "\nExit codes: 0 success, 1 an --assert failed, 2 usage or input error, 130 interrupted.",
  );

  const collect = (value: string, previous: string[]) => [...previous, value];
  const cmd = program
    .command("eval")
    .description("evaluate losses and metrics of predictions against targets")
    .argument(
      "<predictions>",
      "logits (or probabilities): NPY, NPZ, CSV, TSV or Arrow IPC; - for standard input",
    )
    .argument(
      "[targets]",
      "class indices, class names or probabilities (else the predictions' target column or NPZ array)",
    )
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
    .option("--logits-column <name>", "Arrow: the list column of scores (default: the only one)")
    .option("--logits-key <key>", "NPZ: the predictions array (default: logits, predictions or probs)")
    .option("--targets-key <key>", "NPZ: the targets array (default: labels, targets or y)")
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
    .option("--ignore-index <k>", "rows whose target is k are left out", "-100")
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
      new Option("--format <format>", "table for people, json for scripts, ndjson/csv stream every row")
        .choices(["table", "json", "ndjson", "csv"])
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
    .addHelpText("after", EXAMPLES)
    .action((predictions: string, targets: string | undefined, o: Record<string, unknown>) => {
      onCommand({ command: "eval", args: evalArgs(predictions, targets, o) });
    });
  void cmd;
  program
    .command("inspect")
    .description("show format, dtype, shape, columns, target and id columns, class names of a file")
    .argument("<file>", "NPY, NPZ, CSV, TSV or Arrow IPC; - for standard input")
    .addOption(
      new Option("--input-format <format>", "the format (default: from the content)").choices(INPUT_FORMATS),
    )
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .option("--json", "same as --format json")
    .option("--class-axis <axis>", "the class axis of an NPY array")
    .option("--target-column <name|index>", "target column (default: one named label, target, y or class)")
    .option("--id-column <name|index>", "id column")
    .option("--logits-column <name>", "Arrow: the list column of scores")
    .option("--logits-key <key>", "NPZ: the predictions array")
    .option("--score-columns <spec>", "the score columns: names, globs (logit_*), index ranges (2:12)")
    .option("--drop-columns <spec>", "columns that are not scores")
    .option("--header", "the first row of a CSV/TSV is a header (default: detected)")
    .option("--no-header", "the first row of a CSV/TSV is data")
    .action((file: string, o: Record<string, unknown>) => {
      const s = (k: string) => o[k] as string | undefined;
      onCommand({
        command: "inspect",
        args: {
          file,
          inputFormat: s("inputFormat") as InputFormat | undefined,
          format: o.json ? "json" : (s("format") as "table" | "json"),
          open: {
            classAxis: classAxis(s("classAxis")),
            targetColumn: s("targetColumn"),
            idColumn: s("idColumn"),
            logitsColumn: s("logitsColumn"),
            logitsKey: s("logitsKey"),
            scoreColumns: s("scoreColumns"),
            dropColumns: s("dropColumns"),
            header: o.header as boolean | undefined,
          },
        },
      });
    });
  program
    .command("merge")
    .description("combine the --emit-state documents of shards into one evaluation")
    .argument("<state.json...>", "documents of `xent eval ... --emit-state --json`, in input order")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .option("--json", "same as --format json")
    .option("--emit-state", "with --json: keep the merged state, to merge again")
    .option("--assert <expr>", "fail (exit 1) unless METRIC OP NUMBER holds; repeatable", collect, [])
    .addOption(
      new Option("--sort <key>", "order of the per-class table").choices(["class", "loss"]).default("class"),
    )
    .option("--top-classes <K>", "per-class rows shown in the table")
    .action((files: string[], o: Record<string, unknown>) => {
      const format = o.json ? "json" : (o.format as "table" | "json");
      if (o.emitState && format !== "json") throw usage("--emit-state goes with --format json");
      onCommand({
        command: "merge",
        args: {
          files,
          format,
          asserts: o.assert as string[],
          emitState: Boolean(o.emitState),
          sortClasses: o.sort as "class" | "loss",
          topClasses: o.topClasses === undefined ? null : integer("--top-classes", o.topClasses as string, 0),
        },
      });
    });
  program
    .command("completion")
    .description('print a shell completion script: eval "$(xent completion bash)"')
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]))
    .action((shell: "bash" | "zsh") => onCommand({ command: "completion", shell }));
  return program;
}

/** The version in package.json, which sits two folders above dist/cli/ and src/cli/. */
function version(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
    ).version;
  } catch {
    return "unknown";
  }
}

/** `--targets-header` / `--targets-no-header` (commander negates only `--no-…`), else `--header` / `--no-header`. */
function targetsHeader(o: Record<string, unknown>): boolean | undefined {
  if (o.targetsHeader && o.targetsNoHeader)
    throw usage("--targets-header and --targets-no-header contradict");
  if (o.targetsHeader) return true;
  if (o.targetsNoHeader) return false;
  return o.header as boolean | undefined;
}

function evalArgs(predictions: string, targets: string | undefined, o: Record<string, unknown>): EvalArgs {
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
    worst: s("worst") === undefined ? 0 : integer("--worst", s("worst")!, 0),
    asserts: (o.assert as string[]).map((e) => parseAssert(e, topK)),
    chunkRows: s("chunkRows") === undefined ? undefined : integer("--chunk-rows", s("chunkRows")!, 1),
    threads: s("threads") === undefined ? 0 : integer("--threads", s("threads")!, 1),
    progress: o.progress !== false && !o.quiet,
    quiet: Boolean(o.quiet),
  };
}

/**
 * Parses argv (without node and script). Help and version are printed here and give
 * `{command: "none"}`; every usage error, commander's own included, becomes an XentError.
 */
export function parseCommandLine(argv: readonly string[], streams: Streams): CommandLine {
  if (argv.length === 0)
    throw usage("no command given: xent eval <predictions> [targets] [options] (see xent --help)");
  let result: CommandLine = { command: "none" };
  const program = buildProgram(streams, (line) => {
    result = line;
  });
  try {
    program.parse(argv as string[], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return { command: "none" };
      throw new XentError("usage", e.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " "));
    }
    throw e;
  }
  return result;
}
