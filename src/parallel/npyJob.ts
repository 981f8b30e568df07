import type { LossOptions } from "../core/types.js";
import type { ErrorContext } from "../errors.js";
import type { NpyDtype } from "../readers/npyHeader.js";

/**
 * What a worker needs to evaluate its share of an NPY file on its own: where the rows are, how
 * they are stored, and the options. Plain data, so that it crosses to a worker thread as is.
 */
export interface NpyJob {
  predictions: { path: string; dataOffset: number; dtype: NpyDtype };
  targets: { path: string; dataOffset: number; dtype: NpyDtype };
  rows: number;
  classes: number;
  chunkRows: number;
  /** This worker takes chunks worker, worker + workers, worker + 2·workers, … */
  worker: number;
  workers: number;
  loss: LossOptions;
  perClass: boolean;
  worst: number;
  /** Report rows done after every chunk (only when a progress bar shows them). */
  progress: boolean;
}

export interface WorkerError {
  code: string;
  message: string;
  context: ErrorContext;
}
