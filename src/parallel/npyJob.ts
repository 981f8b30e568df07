import type { LossOptions } from "../core/types.js";
import type { ErrorContext } from "../errors.js";
import type { NpyDtype } from "../readers/npyHeader.js";

/**
 * A run of rows stored contiguously: `rows` × C scores at byte `scoresAt` of the predictions
 * file, `rows` targets at byte `targetsAt` of the targets file.
 */
export interface Segment {
  start: number;
  rows: number;
  scoresAt: number;
  targetsAt: number;
}

/**
 * What a worker needs to evaluate its share of a file on its own: where the rows are (an NPY's
 * chunks, or an uncompressed Arrow file's record batches), how they are stored, and the options.
 * Plain data, so that it crosses to a worker thread as is.
 */
export interface NpyJob {
  predictions: { path: string; dtype: NpyDtype };
  targets: { path: string; dtype: NpyDtype };
  segments: Segment[];
  classes: number;
  /** This worker takes segments worker, worker + workers, worker + 2·workers, … */
  worker: number;
  workers: number;
  loss: LossOptions;
  perClass: boolean;
  worst: number;
  /** Watch whether the logits look like probabilities (ProbabilityLook). */
  look: boolean;
  /** Report rows done after every chunk (only when a progress bar shows them). */
  progress: boolean;
}

export interface WorkerError {
  code: string;
  message: string;
  context: ErrorContext;
}
