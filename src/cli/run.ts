import { statSync } from "node:fs";
import { ProbabilityLook } from "../core/probabilityLook.js";
import { wasmHandles } from "../core/wasmKernel.js";
import { type EvaluateOptions, evaluate } from "../evaluate.js";
import { type Summary, summarize } from "../metrics/stats.js";
import type { Printer } from "../output/printer.js";
import { Progress, type ProgressStream } from "../output/progress.js";
import type { Writer } from "../output/writer.js";
import { evaluateOnWorkers } from "../parallel/blockPool.js";
import type { NpyJob, Segment } from "../parallel/npyJob.js";
import { defaultThreads, evaluateNpyParallel, workersAvailable } from "../parallel/pool.js";
import { rowBlocks } from "../readers/rowBlocks.js";
import type { Assertion, Report } from "../wire/eval.js";
import { optionsJson } from "../wire/options.js";
import { shardState } from "../wire/state.js";
import { type EvalPlan, makePrinter, planEval } from "./config.js";
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

/**
 * `--threads N`, at most 4 per core: each worker is a V8 isolate (~10 MiB and ~30 ms to start),
 * so --threads 10000 would exhaust memory before evaluating a row.
 */
const threadCount = (args: EvalArgs) => Math.min(args.threads || defaultThreads(), 4 * defaultThreads());

/** Below this many values (float32), starting threads costs more than it saves. */
const PARALLEL_MIN_VALUES = 1 << 22;
/** The same threshold in bytes; XENT_PARALLEL_MIN_BYTES lowers it so that tests run threads on small files. */
const PARALLEL_MIN_BYTES = Number(process.env.XENT_PARALLEL_MIN_BYTES ?? PARALLEL_MIN_VALUES * 4);

/**
 * The worker-thread plan when it applies: little-endian float32/64 NPY logits in C order with the
 * class axis last, NPY index targets, options the WebAssembly kernel handles, no per-sample
 * output (which must come out in order), and enough data to be worth the threads. Otherwise the
 * single-threaded loop runs, with the same kernel and the same numbers.
 */
async function parallelJob(plan: EvalPlan, args: EvalArgs) {
  const threads = threadCount(args);
  if (threads < 2 || args.perSample || !wasmHandles(plan.loss) || !workersAvailable()) return null;
  if (plan.predictions.direct && plan.targets === null && args.idColumn === undefined)
    return arrowJob(plan, args, threads);
  const p = plan.predictions.positional;
  const t = plan.targets?.positional;
  if (!p || !t || plan.targets?.kind !== "index") return null;
  const { header } = p;
  const C = plan.predictions.classes;
  const contiguous =
    p.axis === header.shape.length - 1 && (!header.fortranOrder || header.shape.length === 1);
  const native = header.dtype.kind === "f" && header.dtype.size >= 4 && header.dtype.littleEndian;
  const rows = header.shape.reduce((a, b) => a * b, 1) / Math.max(1, C);
  if (!contiguous || !native || rows * C * header.dtype.size < PARALLEL_MIN_BYTES) return null;
  if (t.header.fortranOrder && t.header.shape.filter((d) => d > 1).length > 1) return null;
  const segments: Segment[] = [];
  for (let start = 0; start < rows; start += plan.chunkRows) {
    const n = Math.min(plan.chunkRows, rows - start);
    const scoresAt = header.dataOffset + start * C * header.dtype.size;
    segments.push({ start, rows: n, scoresAt, targetsAt: t.header.dataOffset + start * t.header.dtype.size });
  }
  return directJob(
    plan,
    args,
    threads,
    segments,
    { path: p.path, dtype: header.dtype },
    { path: t.path, dtype: t.header.dtype },
  );
}

/** An uncompressed Arrow file with its own target column: workers read its batches themselves. */
async function arrowJob(plan: EvalPlan, args: EvalArgs, threads: number) {
  const path = plan.predictions.info.path;
  if (!largeFile(path)) return null;
  const direct = await plan.predictions.direct!(plan.chunkRows);
  if (!direct || direct.segments.length === 0) return null;
  return directJob(
    plan,
    args,
    threads,
    direct.segments,
    { path, dtype: direct.scores },
    { path, dtype: direct.targets },
  );
}

function directJob(
  plan: EvalPlan,
  args: EvalArgs,
  threads: number,
  segments: Segment[],
  predictions: NpyJob["predictions"],
  targets: NpyJob["targets"],
) {
  return {
    workers: Math.min(threads, segments.length),
    job: {
      predictions,
      targets,
      segments,
      classes: plan.predictions.classes,
      loss: plan.loss,
      perClass: args.perClass,
      worst: args.worst,
    },
  };
}

/**
 * Worker threads for blocks read on this thread: worth it where the kernel, not reading, sets
 * the pace (Arrow, NPZ, NPY the direct path does not take) and the input is large. CSV parsing
 * is the bottleneck of CSV runs, so they stay on one thread.
 */
function blockWorkers(plan: EvalPlan, args: EvalArgs): number {
  const threads = threadCount(args);
  const format = plan.predictions.info.format;
  if (threads < 2 || format === "csv" || format === "tsv" || !workersAvailable()) return 0;
  // An NPZ member is named archive.npz:member.npy; the archive's size is what counts.
  return largeFile(plan.predictions.info.path.replace(/:[^:/]*\.npy$/, "")) ? threads : 0;
}

/** Whether a file is big enough for worker threads; false for standard input (no size to judge). */
function largeFile(path: string): boolean {
  try {
    return statSync(path).size >= PARALLEL_MIN_BYTES;
  } catch {
    return false;
  }
}

/** Every `--assert` evaluated on the final numbers (null when there are none). */
export function checkAssertions(specs: readonly AssertSpec[], summary: Summary): Assertion[] | null {
  if (specs.length === 0) return null;
  return specs.map((a) => check(a, a.metric === "loss" ? summary.loss : summary.metrics[a.metric]!));
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
  const printer = await makePrinter(args.format, out);
  io.onAbort(() => printer.abort?.());
  const progress =
    args.progress && io.stderr.isTTY === true
      ? new Progress(io.stderr, () => plan.predictions.fractionDone?.() ?? null)
      : null;
  if (progress) io.onAbort(() => progress.done());
  try {
    return await evaluateAndPrint(plan, args, out, io, printer, progress);
  } catch (e) {
    // Whatever the caller does with the error, the spool goes (main's abort also runs it on signals).
    printer.abort?.();
    progress?.done();
    throw e;
  }
}

async function evaluateAndPrint(
  plan: EvalPlan,
  args: EvalArgs,
  out: Writer,
  io: RunIO,
  printer: Printer,
  progress: Progress | null,
): Promise<number> {
  await printer.begin(plan.run);
  const blocks = rowBlocks(plan.predictions, plan.targets, {
    chunkRows: plan.chunkRows,
    classNames: plan.classNames,
    ignoreIndex: plan.loss.ignoreIndex,
  });
  const evaluation: EvaluateOptions = {
    classes: plan.predictions.classes,
    loss: plan.loss,
    perClass: args.perClass,
    worst: args.perSample ? 0 : args.worst,
    predictionsPath: plan.predictions.info.path,
    onRows: args.perSample ? (res, ids) => printer.samples(res, ids) : undefined,
    onProgress: progress ? (rows) => progress.update(rows) : undefined,
    look: plan.loss.inputType === "logits" ? new ProbabilityLook() : undefined,
  };
  const job = await parallelJob(plan, args);
  const pool = job ? 0 : blockWorkers(plan, args);
  if (process.env.XENT_DEBUG) {
    const how = job
      ? `${job.workers} threads reading the file (${job.job.segments.length} segments)`
      : pool > 1
        ? `${pool} threads fed blocks`
        : "one thread";
    io.stderr.write(`xent: debug: evaluating on ${how}\n`);
  }
  const stats = job
    ? await evaluateNpyParallel(job.job, job.workers, evaluation.onProgress, evaluation.look)
    : pool > 1
      ? await evaluateOnWorkers(blocks, evaluation, pool)
      : await evaluate(blocks, evaluation);
  progress?.done();
  const warn = (text: string) => {
    if (!args.quiet) io.stderr.write(`xent: warning: ${text}\n`);
  };
  if (evaluation.look?.suspicious) {
    warn(
      `every row of ${plan.predictions.info.path} lies in [0, 1] and sums to 1: are these probabilities? pass --input-type probs (they are read as logits)`,
    );
  }
  if (args.format === "csv" && args.perClass)
    warn("--format csv prints per-sample rows only: the per-class table is in --format json or table");
  const summary = summarize(stats, plan.classNames);
  const assertions = checkAssertions(args.asserts, summary);
  const report: Report = { run: plan.run, summary, assertions };
  if (args.emitState) report.state = shardState(stats, optionsJson(plan.loss), plan.classNames);
  await printer.end(report);
  await out.end();
  const failed = assertions?.filter((a) => !a.passed) ?? [];
  // csv has no place for assertion results: they go to stderr, as the exit code does to the shell.
  if (args.format === "csv")
    for (const a of failed) io.stderr.write(`xent: assertion failed: ${a.expr} (${a.value})\n`);
  return failed.length > 0 ? EXIT_ASSERT : EXIT_OK;
}
