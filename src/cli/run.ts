import { evaluate } from "../evaluate.js";
import { summarize } from "../metrics/stats.js";
import { Progress, type ProgressStream } from "../output/progress.js";
import type { Assertion, Report } from "../output/report.js";
import type { Writer } from "../output/writer.js";
import { rowBlocks } from "../readers/rowBlocks.js";
import { makePrinter, planEval } from "./config.js";
import type { AssertSpec, EvalArgs } from "./options.js";

/** Exit codes of the contract: 0 success, 1 an --assert failed, 2 usage or input error. */
export const EXIT_OK = 0;
export const EXIT_ASSERT = 1;
export const EXIT_ERROR = 2;

function check(spec: AssertSpec, value: number): Assertion {
  const v = value;
  const t = spec.threshold;
  const passed = spec.op === "<" ? v < t : spec.op === "<=" ? v <= t : spec.op === ">" ? v > t : v >= t;
  return { expr: spec.expr, value, passed };
}

/** What a run needs of its process besides stdout. */
export interface RunIO {
  stderr: ProgressStream;
  /** Registers what to undo when the run is interrupted (Ctrl-C) or fails. */
  onAbort(cleanup: () => void): void;
}

const quietIO: RunIO = { stderr: process.stderr, onAbort: () => {} };

/** Runs `xent eval` to `out`; returns the exit code, or throws XentError / BrokenPipe. */
export async function runEval(args: EvalArgs, out: Writer, io: RunIO = quietIO): Promise<number> {
  const plan = await planEval(args);
  const printer = makePrinter(args.format, out);
  io.onAbort(() => printer.abort?.());
  const progress =
    args.progress && io.stderr.isTTY === true
      ? new Progress(io.stderr, () => plan.predictions.fractionDone?.() ?? null)
      : null;
  if (progress) io.onAbort(() => progress.done());
  await printer.begin(plan.run);
  const blocks = rowBlocks(plan.predictions, plan.targets, {
    chunkRows: plan.chunkRows,
    classNames: plan.classNames,
    ignoreIndex: plan.loss.ignoreIndex,
  });
  const stats = await evaluate(blocks, {
    classes: plan.predictions.classes,
    loss: plan.loss,
    perClass: args.perClass,
    worst: args.perSample ? 0 : args.worst,
    predictionsPath: plan.predictions.info.path,
    onRows: args.perSample ? (res, ids) => printer.samples(res, ids) : undefined,
    onProgress: progress ? (rows) => progress.update(rows) : undefined,
  });
  progress?.done();
  const summary = summarize(stats, plan.classNames);
  const assertions =
    args.asserts.length === 0
      ? null
      : args.asserts.map((a) => check(a, a.metric === "loss" ? summary.loss : summary.metrics[a.metric]!));
  const report: Report = { run: plan.run, summary, assertions };
  await printer.end(report);
  await out.end();
  const failed = assertions?.filter((a) => !a.passed) ?? [];
  // csv has no place for assertion results: they go to stderr, as the exit code does to the shell.
  if (args.format === "csv")
    for (const a of failed) io.stderr.write(`xent: assertion failed: ${a.expr} (${a.value})\n`);
  return failed.length > 0 ? EXIT_ASSERT : EXIT_OK;
}
