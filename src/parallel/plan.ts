import { statSync } from "node:fs";
import type { LossOptions } from "../core/types.js";
import { wasmHandles } from "../core/wasmKernel.js";
import type { PredictionSource, TargetSource } from "../readers/types.js";
import type { FileJob, Segment } from "./fileJob.js";
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
  /** An id column is read (the direct Arrow path does not carry ids). */
  ids: boolean;
  /** Below this many bytes, starting threads costs more than it saves. */
  minBytes: number;
}

/** Below this many values (float32), starting threads costs more than it saves. */
export const PARALLEL_MIN_BYTES = (1 << 22) * 4;

/**
 * `--threads N`, at most 4 per core: each worker is a V8 isolate (~10 MiB and ~30 ms to start),
 * so --threads 10000 would exhaust memory before evaluating a row.
 */
export const threadCount = (threads: number) => Math.min(threads || defaultThreads(), 4 * defaultThreads());

export interface FilePlan {
  workers: number;
  job: Omit<FileJob, "worker" | "workers" | "progress" | "look">;
}

/**
 * The worker-thread plan when it applies: little-endian float32/64 NPY logits in C order with the
 * class axis last, NPY index targets, options the WebAssembly kernel handles, no per-sample
 * output (which must come out in order), and enough data to be worth the threads; or an
 * uncompressed Arrow file with its own target column. Otherwise null: the single-threaded loop (or
 * the block workers) run, with the same kernel and the same numbers.
 */
export async function fileJob(run: ParallelInputs): Promise<FilePlan | null> {
  const threads = threadCount(run.threads);
  if (threads < 2 || run.perSample || !wasmHandles(run.loss) || !workersAvailable()) return null;
  if (run.predictions.direct && run.targets === null && !run.ids) return arrowJob(run, threads);
  const p = run.predictions.positional;
  const t = run.targets?.positional;
  if (!p || !t || run.targets?.kind !== "index") return null;
  const { header } = p;
  const C = run.predictions.classes;
  const contiguous =
    p.axis === header.shape.length - 1 && (!header.fortranOrder || header.shape.length === 1);
  const native = header.dtype.kind === "f" && header.dtype.size >= 4 && header.dtype.littleEndian;
  const rows = header.shape.reduce((a, b) => a * b, 1) / Math.max(1, C);
  if (!contiguous || !native || rows * C * header.dtype.size < run.minBytes) return null;
  if (t.header.fortranOrder && t.header.shape.filter((d) => d > 1).length > 1) return null;
  const segments: Segment[] = [];
  for (let start = 0; start < rows; start += run.chunkRows) {
    const n = Math.min(run.chunkRows, rows - start);
    const scoresAt = header.dataOffset + start * C * header.dtype.size;
    segments.push({ start, rows: n, scoresAt, targetsAt: t.header.dataOffset + start * t.header.dtype.size });
  }
  return job(
    run,
    threads,
    segments,
    { path: p.path, dtype: header.dtype },
    { path: t.path, dtype: t.header.dtype },
  );
}

/** An uncompressed Arrow file with its own target column: workers read its batches themselves. */
async function arrowJob(run: ParallelInputs, threads: number): Promise<FilePlan | null> {
  const path = run.predictions.info.path;
  if (!largeFile(path, run.minBytes)) return null;
  const direct = await run.predictions.direct!(run.chunkRows);
  if (!direct || direct.segments.length === 0) return null;
  return job(run, threads, direct.segments, { path, dtype: direct.scores }, { path, dtype: direct.targets });
}

function job(
  run: ParallelInputs,
  threads: number,
  segments: Segment[],
  predictions: FileJob["predictions"],
  targets: FileJob["targets"],
): FilePlan {
  return {
    workers: Math.min(threads, segments.length),
    job: {
      predictions,
      targets,
      segments,
      classes: run.predictions.classes,
      loss: run.loss,
      perClass: run.perClass,
      worst: run.worst,
    },
  };
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
  // An NPZ member is named archive.npz:member.npy; the archive's size is what counts.
  return largeFile(run.predictions.info.path.replace(/:[^:/]*\.npy$/, ""), run.minBytes) ? threads : 0;
}

/** Whether a file is big enough for worker threads; false for standard input (no size to judge). */
function largeFile(path: string, minBytes: number): boolean {
  try {
    return statSync(path).size >= minBytes;
  } catch {
    return false;
  }
}
