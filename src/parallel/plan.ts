import { statSync } from "node:fs";
import { fileWorkersHandle } from "../core/kernel.js";
import type { LossOptions } from "../core/types.js";
import type { InputInfo, PredictionSource, Segment, TargetSource } from "../readers/types.js";
import type { FileJob, ParquetJob } from "./fileJob.js";
import { type SpillPlan, type SpillSettings, spillSegments } from "./spill.js";
import { defaultThreads, workersAvailable } from "./workerUrl.js";

/** What the plan needs to know of a run. */
export interface ParallelInputs {
  predictions: PredictionSource;
  targets: TargetSource | null;
  loss: LossOptions;
  chunkRows: number;
  perClass: boolean;
  perSample: boolean;
  worst: number;
  /** `--threads N`, 0 for all cores. */
  threads: number;
  /** Below this many bytes, starting threads costs more than it saves. */
  minBytes: number;
  /** `--shift-labels` on a (B, T, V) layout: positions per sequence, for workers that shift themselves. */
  shiftLength?: number | null | undefined;
  /** `--rows` / `--shard`: only rows [start, end) of the whole. */
  range?: { start: number; end: number } | null | undefined;
  /** Where large compressed batches of class columns may be decoded first; null: never to disk. */
  spill?: SpillSettings | null | undefined;
}

/** Below this many values (float32), starting threads costs more than it saves. */
export const PARALLEL_MIN_BYTES = (1 << 22) * 4;

/**
 * Compressed batches of class columns with more decoded scores than this are decoded into a
 * temporary file first (spill.ts); smaller ones in each worker's memory (two workers: twice this).
 */
export const SPILL_MIN_BYTES = 32 * 2 ** 20;

/**
 * `--threads N`, at most 4 per core: each worker is a V8 isolate (~10 MiB and ~30 ms to start),
 * so --threads 10000 would exhaust memory before evaluating a row.
 */
export const threadCount = (threads: number) => Math.min(threads || defaultThreads(), 4 * defaultThreads());

type Shared = "worker" | "workers" | "progress" | "look";

export interface FilePlan {
  workers: number;
  job: Omit<FileJob, Shared> | Omit<ParquetJob, Shared>;
  /** Buffers the workers decode into a temporary file before they evaluate (spill.ts). */
  spill?: SpillPlan | undefined;
  /** Compressed batches whose class columns are read in place (LZ4's stored blocks, spill.ts). */
  inPlace?: number | undefined;
}

/**
 * The plan for workers that read the file themselves, when the source allows it (its `segments`:
 * an NPY beside NPY index targets, an uncompressed Arrow file with its own targets), options the
 * WebAssembly kernel handles, no per-sample output (which must come out in order), and a file
 * large enough to be worth the threads. Otherwise null: the rows go through the reader, on this
 * thread or fed to block workers, with the same kernel and the same numbers.
 */
export async function fileJob(run: ParallelInputs): Promise<FilePlan | null> {
  const threads = threadCount(run.threads);
  if (threads < 2 || run.perSample || !fileWorkersHandle(run.loss) || !workersAvailable()) return null;
  if (!largeFile(fileOf(run.predictions.info), run.minBytes)) return null;
  const options = {
    classes: run.predictions.classes,
    loss: run.loss,
    perClass: run.perClass,
    worst: run.worst,
  };
  // Parquet: row groups are independent; a file of one row group stays with the block workers.
  const groups = run.shiftLength || run.range ? null : (run.predictions.rowGroupPlan?.(run.targets) ?? null);
  if (groups !== null)
    return groups.rowGroups < 2
      ? null
      : { workers: Math.min(threads, groups.rowGroups), job: { ...options, parquet: groups } };
  if (!run.predictions.segments) return null;
  const plan = await run.predictions.segments(run.chunkRows, run.targets);
  if (!plan || plan.segments.length === 0) return null;
  const last = plan.segments.at(-1)!;
  const within = run.range
    ? segmentsWithin(plan.segments, run.range, run.predictions.classes, plan.scores.size, plan.targets.size)
    : plan.segments;
  const spilled = run.spill
    ? spillSegments(
        within,
        run.predictions.classes,
        plan.scores.size,
        plan.targets.size,
        run.chunkRows,
        run.spill,
        threads,
      )
    : null;
  // Where stored LZ4 blocks lie is the plan's business: the workers are not sent it.
  const segments = spilled?.segments ?? within.map(({ stored: _, ...s }) => s);
  // A compressed batch is one segment, decoded as a stream by one worker: a file of one batch
  // (polars' default) runs on one thread in a slice's memory rather than decoded whole for the
  // block workers. (Large batches of class columns: decoded first, in parallel, see spill.ts.)
  if (segments.length === 0) return null;
  return {
    ...(spilled?.spill ? { spill: spilled.spill } : {}),
    ...(spilled?.inPlace ? { inPlace: spilled.inPlace } : {}),
    workers: Math.min(threads, segments.length),
    job: {
      ...options,
      predictions: { path: plan.scoresPath, dtype: plan.scores },
      targets: { path: plan.targetsPath, dtype: plan.targets },
      segments,
      sliceRows: run.chunkRows,
      ...(run.shiftLength ? { shift: { length: run.shiftLength, rows: last.start + last.rows } } : {}),
    },
  };
}

/** Files whose workers read them themselves (fileJob), by name: the formats with segments or row groups. */
const FILE_JOB_NAME = /\.(npy|arrow|feather|ipc|parquet)$/i;

/**
 * Threads worth starting before the inputs are even opened: when the run will most likely go to
 * file workers (a large NPY, Arrow or Parquet file by name, no per-sample output), they start
 * while this thread reads the file's metadata (a thread takes ~50–100 ms to start: on the 200 MB
 * bench, see the commit). 0 otherwise; threads the plan does not use are ended unused.
 */
export function earlyThreads(
  path: string,
  threads: number,
  perSample: boolean,
  minBytes: number,
  available = workersAvailable(),
): number {
  const n = threadCount(threads);
  if (n < 2 || perSample || path === "-" || !FILE_JOB_NAME.test(path) || !available) return 0;
  return largeFile(path, minBytes) ? n : 0;
}

/**
 * The segments' rows within [start, end), a segment cut where the range cuts it (its bytes are
 * rows of fixed size); a compressed batch the range cuts keeps its place and says which rows to
 * evaluate (`keep`).
 */
function segmentsWithin(
  segments: readonly Segment[],
  range: { start: number; end: number },
  classes: number,
  scoreBytes: number,
  targetBytes: number,
): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    const from = Math.max(s.start, range.start);
    const to = Math.min(s.start + s.rows, range.end);
    if (from >= to) continue;
    if (from === s.start && to === s.start + s.rows) out.push(s);
    // A compressed batch decodes from its start: the worker evaluates only the rows kept.
    else if (s.codec) out.push({ ...s, keep: { from: from - s.start, to: to - s.start } });
    else {
      const skip = from - s.start;
      out.push({
        start: from,
        rows: to - from,
        scoresAt: s.scoresAt + skip * classes * scoreBytes,
        targetsAt: s.targetsAt + skip * targetBytes,
        // One column per class: each column's values move on by the rows skipped.
        columnsAt: s.columnsAt?.map((at) => at + skip * scoreBytes),
      });
    }
  }
  return out;
}

/**
 * Worker threads for blocks read on this thread: worth it where the kernel, not reading, sets
 * the pace (Arrow, NPZ, NPY the direct path does not take) and the input is large. CSV parsing
 * is the bottleneck of CSV runs, so they stay on one thread.
 */
export function blockWorkerCount(run: ParallelInputs): number {
  const threads = threadCount(run.threads);
  const format = run.predictions.info.format;
  if (threads < 2 || format === "csv" || format === "tsv" || !workersAvailable()) return 0;
  return largeFile(fileOf(run.predictions.info), run.minBytes) ? threads : 0;
}

/**
 * The file behind an input: an NPZ member is named archive.npz:member.npy and a safetensors
 * tensor file.safetensors:key; the file's size is what counts.
 */
function fileOf(info: InputInfo): string {
  const m = info.member;
  if (m === undefined) return info.path;
  for (const suffix of [`:${m}.npy`, `:${m}`])
    if (info.path.endsWith(suffix)) return info.path.slice(0, -suffix.length);
  return info.path;
}

/** Whether a file is big enough for worker threads; false for standard input (no size to judge). */
function largeFile(path: string, minBytes: number): boolean {
  try {
    return statSync(path).size >= minBytes;
  } catch {
    return false;
  }
}
