import { readFileSync } from "node:fs";
import { usage, XentError } from "../errors.js";
import { summarize } from "../metrics/stats.js";
import type { Writer } from "../output/writer.js";
import { describeIoError } from "../readers/files.js";
import { checkState } from "../wire/checkState.js";
import type { Report, RunInfo } from "../wire/eval.js";
import { type OptionsJson, optionsFromJson } from "../wire/options.js";
import { mergeShards, type ShardDocument, shardState } from "../wire/state.js";
import { makePrinter } from "./config.js";
import { parseAssert } from "./options.js";
import { checkAssertions, EXIT_ASSERT, EXIT_OK } from "./run.js";

export interface MergeArgs {
  files: string[];
  format: "table" | "json";
  asserts: string[];
  emitState: boolean;
  sortClasses: "class" | "loss";
  topClasses: number | null;
}

function readShard(path: string): ShardDocument & { options: OptionsJson } {
  let doc: {
    schema?: unknown;
    inputs?: ShardDocument["inputs"];
    state?: ShardDocument["state"];
    options?: OptionsJson;
  };
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const why = e instanceof SyntaxError ? `not JSON (${e.message})` : `cannot read: ${describeIoError(e)}`;
    throw new XentError(e instanceof SyntaxError ? "format" : "io", why, { file: path });
  }
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
export async function runMerge(args: MergeArgs, out: Writer): Promise<number> {
  if (args.files.length === 0) throw usage("xent merge needs at least one state document");
  const shards = args.files.map(readShard);
  const first = shards[0]!;
  const loss = optionsFromJson(first.state.options);
  const stats = mergeShards(shards, loss);
  const classNames = first.state.class_names;
  const summary = summarize(stats, classNames);
  const assertions = checkAssertions(
    args.asserts.map((e) => parseAssert(e, loss.topK)),
    summary,
  );
  const predictions = { ...first.inputs.predictions };
  if (predictions.shape) predictions.shape = [stats.rows, ...predictions.shape.slice(1)];
  const run: RunInfo = {
    inputs: { predictions, targets: first.inputs.targets },
    options: loss,
    classNames,
    perSample: false,
    worst: first.state.worst,
    perClass: first.state.per_class,
    display: { sortClasses: args.sortClasses, topClasses: args.topClasses },
  };
  const report: Report = { run, summary, assertions };
  if (args.emitState) report.state = shardState(stats, first.state.options, classNames);
  const printer = await makePrinter(args.format, out);
  await printer.begin(run);
  await printer.end(report);
  await out.end();
  return assertions?.some((a) => !a.passed) ? EXIT_ASSERT : EXIT_OK;
}
