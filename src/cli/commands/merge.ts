import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Command, Option } from "commander";
import { comparisonOf } from "../../compare.js";
import { usage, XentError } from "../../errors.js";
import { languageModelMetricNames } from "../../lm/metrics.js";
import type { Writer } from "../../output/writer.js";
import { describeIoError } from "../../readers/files.js";
import type { InputInfo } from "../../readers/types.js";
import { checkState } from "../../wire/checkState.js";
import { checkCompareState, compareState, mergeCompareStates } from "../../wire/compareState.js";
import type { RunInfo } from "../../wire/eval.js";
import { type OptionsJson, optionsFromJson } from "../../wire/options.js";
import { mergeShards, type ShardDocument } from "../../wire/state.js";
import { finish, type Outcome } from "../finish.js";
import { makePrinter } from "../printers.js";
import { readSettings, type Settings } from "../settings.js";
import { checkAssertMetrics, integer, parseAssert } from "../values.js";
import { COMPARE_SCHEMA, checkCompareAsserts, printComparison } from "./compare.js";

/** `xent merge`: usage and options, and the run. */

/** Adds `xent merge` to the program; `onArgs` receives the parsed flags. */
export function defineMerge(program: Command, onArgs: (args: MergeArgs) => void): void {
  const collect = (value: string, previous: string[]) => [...previous, value];
  program
    .command("merge")
    .description("combine the --emit-state documents of shards into one evaluation")
    .argument(
      "<state.json...>",
      "documents of `xent eval ... --emit-state --json`, in input order; a directory (its *.json files), or - (one document per line)",
    )
    .addOption(
      new Option("--format <format>", "output format")
        .choices(["table", "json", "markdown"])
        .default("table"),
    )
    .option("--json", "same as --format json")
    .option("--emit-state", "with --json: keep the merged state, to merge again")
    .option("--assert <expr>", "fail (exit 1) unless METRIC OP NUMBER holds; repeatable", collect, [])
    .addOption(
      new Option("--sort <key>", "order of the per-class table").choices(["class", "loss"]).default("class"),
    )
    .option("--top-classes <K>", "per-class rows shown in the table")
    .option("--top-groups <K>", "groups shown in the table, worst loss first (0: all)", "10")
    .action((files: string[], o: Record<string, unknown>) => {
      const format = o.json ? "json" : (o.format as "table" | "json" | "markdown");
      if (o.emitState && format !== "json") throw usage("--emit-state goes with --format json");
      onArgs({
        files,
        format,
        asserts: o.assert as string[],
        emitState: Boolean(o.emitState),
        sortClasses: o.sort as "class" | "loss",
        topClasses: o.topClasses === undefined ? null : integer("--top-classes", o.topClasses as string, 0),
        topGroups: integer("--top-groups", o.topGroups as string, 0),
      });
    });
}

export interface MergeArgs {
  files: string[];
  /** What `-` reads; process.stdin unless a test feeds its own. */
  stdin?: AsyncIterable<Uint8Array | string>;
  format: "table" | "json" | "markdown";
  asserts: string[];
  emitState: boolean;
  sortClasses: "class" | "loss";
  topClasses: number | null;
  topGroups: number;
}

/** One state document: where it came from (a file, `<stdin>` line N) and its text. */
interface Text {
  path: string;
  text: string;
}

/** States are small (a few KiB, 100,000 groups a few MiB): at most this many bytes are read in all. */
const MAX_STATES_BYTES = 1 << 30;

/**
 * The documents the arguments name: files; a directory's `*.json` files in natural order
 * (shard-2 before shard-10; ranged shards are put in row order anyway); `-`, one document per
 * line on standard input (NDJSON: what `parallel … --emit-state --json | jq -c .` or a job
 * array's collected logs give).
 */
async function readDocuments(args: MergeArgs): Promise<Text[]> {
  const docs: Text[] = [];
  let bytes = 0;
  const add = (doc: Text) => {
    bytes += doc.text.length;
    if (bytes > MAX_STATES_BYTES) throw usage(`more than ${MAX_STATES_BYTES} bytes of state documents`);
    docs.push(doc);
  };
  for (const arg of args.files) {
    if (arg === "-") {
      let text = "";
      for await (const chunk of args.stdin ?? process.stdin) {
        text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        if (text.length > MAX_STATES_BYTES)
          throw usage(`more than ${MAX_STATES_BYTES} bytes of state documents`);
      }
      text.split("\n").forEach((line, i) => {
        if (line.trim() !== "") add({ path: `<stdin> line ${i + 1}`, text: line });
      });
      continue;
    }
    let names: string[] | null = null;
    try {
      if (statSync(arg).isDirectory())
        names = readdirSync(arg)
          .filter((n) => n.endsWith(".json"))
          .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
          .map((n) => join(arg, n));
    } catch (e) {
      throw new XentError("io", `cannot read: ${describeIoError(e)}`, { file: arg });
    }
    if (names !== null && names.length === 0)
      throw new XentError("usage", "no *.json state documents in this directory", { file: arg });
    for (const path of names ?? [arg]) {
      try {
        add({ path, text: readFileSync(path, "utf8") });
      } catch (e) {
        throw new XentError("io", `cannot read: ${describeIoError(e)}`, { file: path });
      }
    }
  }
  if (docs.length === 0) throw usage("xent merge needs at least one state document");
  return docs;
}

function parseDocument({ path, text }: Text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new XentError("format", `not JSON (${(e as Error).message})`, { file: path });
  }
}

function readShard(source: Text): ShardDocument & { options: OptionsJson } {
  const { path } = source;
  const doc: {
    schema?: unknown;
    inputs?: ShardDocument["inputs"];
    state?: ShardDocument["state"];
    options?: OptionsJson;
  } = parseDocument(source);
  if (doc?.schema !== "xent.eval/1")
    throw new XentError("format", "not an xent.eval/1 document", { file: path });
  if (doc.state === undefined || !doc.inputs || !doc.options) {
    throw new XentError("format", "no state in this document: evaluate with --emit-state --json", {
      file: path,
    });
  }
  checkState(doc.state, path);
  checkInputs(doc.inputs, path);
  return { path, inputs: doc.inputs, state: doc.state, options: doc.options };
}

/** A document's `schema` (undefined when it cannot be read: readShard says why). */
function schemaOf(doc: Text): unknown {
  try {
    return JSON.parse(doc.text)?.schema;
  } catch {
    return undefined;
  }
}

/**
 * `xent merge` of `xent compare --emit-state` documents: both sides' sums, the bootstrap's
 * replicate totals and McNemar's counts added up; shards that tile the rows (each one's
 * `--first-row` where the one before ended) give the whole file's comparison bit for bit.
 */
async function mergeComparisons(
  args: MergeArgs,
  docs: Text[],
  out: Writer,
  settings: Settings,
): Promise<Outcome> {
  const shards = docs.map((source) => {
    const { path } = source;
    const doc: {
      schema?: unknown;
      state?: unknown;
      inputs?: Record<string, InputInfo>;
      options?: OptionsJson;
    } = parseDocument(source);
    if (doc?.schema !== COMPARE_SCHEMA)
      throw new XentError(
        "format",
        "not an xent.compare/1 document (compare states merge only with each other)",
        {
          file: path,
        },
      );
    if (doc.state === undefined || !doc.inputs)
      throw new XentError("format", "no state in this document: compare with --emit-state --json", {
        file: path,
      });
    const state = checkCompareState(doc.state, path);
    for (const side of ["baseline", "candidate", "targets"])
      checkInputs({ predictions: doc.inputs[side], targets: doc.inputs.targets }, path);
    return { path, state, inputs: doc.inputs };
  });
  const first = shards[0]!;
  const loss = optionsFromJson(first.state.options);
  const { parts, firstRow } = mergeCompareStates(shards, loss);
  const { resamples, confidence, seed } = first.state.bootstrap;
  const comparison = comparisonOf(parts, {
    classes: first.state.classes,
    loss,
    resamples,
    confidence,
    classNames: first.state.class_names,
  });
  const rows = (info: InputInfo | undefined) =>
    info?.shape ? { ...info, shape: [parts.rows, ...info.shape.slice(1)] } : info!;
  const asserts = args.asserts.map((e) => parseAssert(e));
  checkCompareAsserts(asserts, loss.task, loss.topK);
  const state = args.emitState
    ? compareState(parts, first.state.options, first.state.class_names, {
        firstRow,
        resamples,
        confidence,
        seed,
      })
    : undefined;
  return printComparison(
    {
      inputs: {
        baseline: rows(first.inputs.baseline),
        candidate: rows(first.inputs.candidate),
        targets: first.inputs.targets!,
      },
      loss,
      resamples,
      confidence,
      seed,
      topGroups: args.topGroups,
    },
    comparison,
    asserts,
    args.format,
    out,
    settings.colour,
    state,
  );
}

/** The document's `inputs`, which merge copies into its output: names and shapes of the right types. */
function checkInputs(inputs: unknown, path: string): void {
  const fail = (what: string) => new XentError("format", `invalid xent document: ${what}`, { file: path });
  for (const side of ["predictions", "targets"]) {
    const v = (inputs as Record<string, unknown>)[side] as Record<string, unknown> | undefined;
    if (typeof v !== "object" || v === null) throw fail(`inputs.${side} is not an object`);
    if (typeof v.path !== "string" || typeof v.format !== "string")
      throw fail(`inputs.${side} has no path or format`);
    if (
      v.shape !== undefined &&
      (!Array.isArray(v.shape) ||
        v.shape.some((d) => typeof d !== "number" || !Number.isSafeInteger(d) || d < 0))
    )
      throw fail(`inputs.${side}.shape is not a list of whole numbers`);
  }
}

/**
 * `xent merge a.json b.json …`: adds up the exact partial sums of `--emit-state` documents (one
 * per shard, in the order their inputs would be concatenated) and prints what `xent eval` prints
 * over the concatenated inputs. Only `inputs` differs: it describes the first shard, with the rows
 * of all of them.
 */
export async function runMerge(
  args: MergeArgs,
  out: Writer,
  settings: Settings = readSettings(process.env, false),
): Promise<Outcome> {
  const docs = await readDocuments(args);
  if (schemaOf(docs[0]!) === COMPARE_SCHEMA) return mergeComparisons(args, docs, out, settings);
  const shards = docs.map(readShard);
  const first = shards[0]!;
  const loss = optionsFromJson(first.state.options);
  const { stats, groups, lm, range } = mergeShards(shards, loss);
  const classNames = first.state.class_names;
  const predictions = { ...first.inputs.predictions };
  if (predictions.shape) predictions.shape = [stats.rows, ...predictions.shape.slice(1)];
  const run: RunInfo = {
    inputs: { predictions, targets: first.inputs.targets },
    options: loss,
    classNames,
    perSample: false,
    worst: first.state.worst,
    perClass: first.state.per_class,
    ...(lm ? { lm: { perSequence: lm.per_sequence, bytes: lm.bytes } } : {}),
    ...(range ? { range } : {}),
    display: {
      sortClasses: args.sortClasses,
      topClasses: args.topClasses,
      ...(groups ? { groupBy: groups.column, topGroups: args.topGroups } : {}),
    },
  };
  const asserts = args.asserts.map((e) => parseAssert(e));
  checkAssertMetrics(asserts, loss.task, loss.topK, groups !== null, languageModelMetricNames(run.lm));
  const printer = await makePrinter(args.format, out, settings.colour);
  await printer.begin(run);
  return (await finish(stats, run, asserts, args.emitState, printer, out, groups, lm?.sequences)).outcome;
}
