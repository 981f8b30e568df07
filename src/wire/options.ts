import type { LossOptions } from "../core/types.js";

/** The `options` object of the JSON document: every setting that changes a number. */
export function optionsJson(o: LossOptions): OptionsJson {
  return {
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
}

export interface OptionsJson {
  input_type: LossOptions["inputType"];
  smoothing: number;
  smoothing_style: LossOptions["smoothingStyle"];
  reduction: LossOptions["reduction"];
  ignore_index: number;
  class_weights: number[] | null;
  temperature: number;
  top_k: number[];
  on_nan: LossOptions["onNan"];
}

/** The inverse of optionsJson, for `xent merge`. */
export function optionsFromJson(o: OptionsJson): LossOptions {
  return {
    inputType: o.input_type,
    smoothing: o.smoothing,
    smoothingStyle: o.smoothing_style,
    reduction: o.reduction,
    ignoreIndex: o.ignore_index,
    classWeights: o.class_weights ? Float64Array.from(o.class_weights) : null,
    temperature: o.temperature,
    topK: o.top_k,
    onNan: o.on_nan,
  };
}
