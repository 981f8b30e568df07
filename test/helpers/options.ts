import type { LossOptions } from "../../src/core/types.js";

/** xent's defaults: logits, no smoothing, no weights, mean, ignore index −100, NaN an error. */
export const DEFAULT_OPTIONS: LossOptions = {
  task: "multiclass",
  inputType: "logits",
  temperature: 1,
  smoothing: 0,
  smoothingStyle: "uniform",
  classWeights: null,
  ignoreIndex: -100,
  reduction: "mean",
  topK: [],
  onNan: "error",
  posWeight: null,
  threshold: 0.5,
};
