import { closeSync } from "node:fs";
import type { ProbabilityLook } from "../core/probabilityLook.js";
import { type ErrorCode, XentError } from "../errors.js";
import { mergeState, Stats, type StatsState } from "../metrics/stats.js";
import { openTemporary } from "../readers/temporary.js";
import type { AnyFileJob, WorkerError } from "./fileJob.js";
import type { FilePlan } from "./plan.js";
import { runSpill } from "./spill.js";
import { JobThreads } from "./threads.js";

export { defaultThreads, workersAvailable } from "./workerUrl.js";

type Message =
  | { type: "progress"; rows: number }
  | { type: "done"; state: StatsState; look: { possible: boolean; rows: number } }
  | { type: "error"; error: WorkerError };

/**
 * Evaluates a file plan: its large compressed batches decoded into a temporary file first, when
 * it has any (spill.ts), then every segment on the workers.
 */
export async function evaluateFilePlan(
  plan: FilePlan,
  onProgress?: (rows: number) => void,
  look?: ProbabilityLook,
  /** Threads started ahead (earlyThreads); the caller ends them. */
  started?: JobThreads,
): Promise<Stats> {
  const { spill, job, workers } = plan;
  const threads = started ?? new JobThreads();
  try {
    if (!spill || !("predictions" in job))
      return await evaluateOnFileWorkers(job, workers, threads, onProgress, look);
    const fd = openTemporary(spill.dir);
    try {
      await runSpill(spill, job.predictions.path, fd, spill.workers, threads);
      return await evaluateOnFileWorkers({ ...job, spillFd: fd }, workers, threads, onProgress, look);
    } finally {
      closeSync(fd);
    }
  } finally {
    if (!started) await threads.close();
  }
}

/**
 * Evaluates an NPY, Arrow or Parquet job on `workers` threads, each taking the next segment no
 * other has taken (a Parquet file: every workers-th row group), and merges their exact partial
 * sums. When several workers fail, the error of the earliest row is the one reported.
 */
export async function evaluateOnFileWorkers(
  job: FilePlan["job"],
  workers: number,
  threads: JobThreads,
  onProgress?: (rows: number) => void,
  look?: ProbabilityLook,
): Promise<Stats> {
  const stats = new Stats(job.classes, job.loss, { perClass: job.perClass, worst: job.worst });
  const errors: WorkerError[] = [];
  let done = 0;
  // Segments go to whichever thread is free (Parquet's row groups: every workers-th).
  const next = new Int32Array(new SharedArrayBuffer(4));
  await Promise.all(
    Array.from({ length: workers }, (_, worker) => {
      const workerJob: AnyFileJob = {
        ...job,
        worker,
        workers,
        next,
        progress: onProgress !== undefined,
        look: look !== undefined,
      };
      return threads.run(worker, workerJob, (m: Message) => {
        if (m.type === "progress") {
          done += m.rows;
          onProgress?.(done);
          return false;
        }
        if (m.type === "done") {
          mergeState(stats, m.state);
          look?.merge(m.look);
        } else errors.push(m.error);
        return true;
      });
    }),
  );
  if (errors.length > 0) {
    const first = errors.reduce((a, b) =>
      ((b.context.row as number) ?? Infinity) < ((a.context.row as number) ?? Infinity) ? b : a,
    );
    if (first.code === "internal") throw new Error(first.message);
    throw new XentError(first.code as ErrorCode, first.message, first.context);
  }
  return stats;
}
