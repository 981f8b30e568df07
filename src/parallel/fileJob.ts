import type { LossOptions } from "../core/types.js";
import type { ErrorContext } from "../errors.js";
import type { NpyDtype } from "../readers/npy/header.js";
import type { RowGroupPlan, Segment } from "../readers/types.js";

export type { RowGroupPlan, Segment };

/** What every worker job carries: the options, and which share of the work is this worker's. */
interface JobBase {
  classes: number;
  /** This worker takes segments worker, worker + workers, worker + 2·workers, … */
  worker: number;
  workers: number;
  /**
   * Or, when set, the next segment no worker has taken: a counter the job's workers share
   * (Atomics.add on a SharedArrayBuffer), so that a thread slowed by a busy machine takes fewer.
   */
  next?: Int32Array | undefined;
  loss: LossOptions;
  perClass: boolean;
  worst: number;
  /** Watch whether the logits look like probabilities (ProbabilityLook). */
  look: boolean;
  /** Report rows done after every chunk (only when a progress bar shows them). */
  progress: boolean;
}

/**
 * What a worker needs to evaluate its share of a file on its own: where the rows are (an NPY's
 * chunks, or an uncompressed Arrow file's record batches), how they are stored, and the options.
 * Plain data, so that it crosses to a worker thread as is.
 */
export interface FileJob extends JobBase {
  predictions: { path: string; dtype: NpyDtype };
  targets: { path: string; dtype: NpyDtype };
  segments: Segment[];
  /** Rows evaluated at a time from a segment decoded as a stream (`--chunk-rows`). */
  sliceRows: number;
  /** The temporary file that segments marked `spilled` are read from (its descriptor: it has no name). */
  spillFd?: number | undefined;
  /** `--shift-labels` on a (B, T, V) layout: the workers read each row's label at t + 1 themselves. */
  shift?: LabelShift | undefined;
}

/** Sequences of `length` rows, `rows` in all: row r scored against label r + 1 within its sequence. */
export interface LabelShift {
  length: number;
  rows: number;
}

/** A Parquet file whose row groups the workers decode themselves (worker k: groups k, k + workers, …). */
export interface ParquetJob extends JobBase {
  parquet: RowGroupPlan;
}

export type AnyFileJob = FileJob | ParquetJob;

export interface WorkerError {
  code: string;
  message: string;
  context: ErrorContext;
}
