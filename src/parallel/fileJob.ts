import type { LossOptions } from "../core/types.js";
import type { ErrorContext } from "../errors.js";
import type { NpyDtype } from "../readers/npy/header.js";
import type { Segment } from "../readers/types.js";

export type { Segment };

/**
 * What a worker needs to evaluate its share of a file on its own: where the rows are (an NPY's
 * chunks, or an uncompressed Arrow file's record batches), how they are stored, and the options.
 * Plain data, so that it crosses to a worker thread as is.
 */
export interface FileJob {
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
