import type { LossOptions } from "../core/types.js";

/**
 * The `options` object of the JSON document: every setting that changes a number. `pos_weight`
 * and `threshold` belong to the sigmoid tasks and are written only for them.
 */
export function optionsJson(o: LossOptions): OptionsJson {
  const json: OptionsJson = {
    task: o.task,
    input_type: o.inputType,
    smoothing: o.smoothing,
    smoothing_style: o.smoothingStyle,
    reduction: o.reduction,
    ignore_index: o.ignoreIndex,
    class_weights: o.classWeights ? Array.from(o.classWeights) : null,
    temperature: o.temperature,
    top_k: o.topK,
    on_nan: o.onNan,
  };
  if (o.task !== "multiclass") {
    json.pos_weight = o.posWeight ? Array.from(o.posWeight) : null;
    json.threshold = o.threshold;
  }
  return json;
}

export interface OptionsJson {
  task: LossOptions["task"];
  input_type: LossOptions["inputType"];
  smoothing: number;
  smoothing_style: LossOptions["smoothingStyle"];
  reduction: LossOptions["reduction"];
  ignore_index: number;
  class_weights: number[] | null;
  temperature: number;
  top_k: number[];
  on_nan: LossOptions["onNan"];
  pos_weight?: number[] | null;
  threshold?: number;
}

/** The threshold of the sigmoid tasks when none is given: p > 0.5 is a positive prediction. */
export const DEFAULT_THRESHOLD = 0.5;

/** The inverse of optionsJson, for `xent merge`. */
export function optionsFromJson(o: OptionsJson): LossOptions {
  return {
    task: o.task,
    inputType: o.input_type,
    smoothing: o.smoothing,
    smoothingStyle: o.smoothing_style,
    reduction: o.reduction,
    ignoreIndex: o.ignore_index,
    classWeights: o.class_weights ? Float64Array.from(o.class_weights) : null,
    temperature: o.temperature,
    topK: o.top_k,
    onNan: o.on_nan,
    posWeight: o.pos_weight ? Float64Array.from(o.pos_weight) : null,
    threshold: o.threshold ?? DEFAULT_THRESHOLD,
  };
}
