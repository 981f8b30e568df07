/** The `xent.eval/1` document: what a run reports, and how each part is written as JSON. */

import type { RowRange } from "../cli/rowRange.js";
import { positionAt, unravel } from "../core/positions.js";
import type { RowResults } from "../core/rowResults.js";
import { IGNORED, type LossOptions, type RowLabels, SKIPPED, type Task } from "../core/types.js";
import type { LanguageModelRun } from "../lm/metrics.js";
import type { GroupSummary } from "../metrics/groups.js";
import type { Summary } from "../metrics/stats.js";
import type { WorstRow } from "../metrics/worst.js";
import type { InputInfo } from "../readers/types.js";
import { optionsJson } from "./options.js";
import type { ShardState } from "./state.js";

/** What is known of a run before its first row: everything a printer needs to begin. */
export interface RunInfo {
  inputs: { predictions: InputInfo; targets: InputInfo };
  options: LossOptions;
  classNames: readonly string[] | null;
  /** Every sample is printed (`--per-sample`, `--reduction none`). */
  perSample: boolean;
  /** The K worst rows are printed (`--worst K`), 0 for none. */
  worst: number;
  perClass: boolean;
  /** How the table printer lays out the per-class table. */
  /**
   * Inputs of more than two axes: per-sample and worst rows carry `pos`, their coordinates over
   * the axes other than the class axis. `shape` is those axes' sizes (pos follows from the index),
   * or null when the rows bring their own (a ragged list-of-lists column: [sequence, position]).
   */
  positions?: { dims: number; shape: number[] | null } | undefined;
  /** `--rows` / `--shard`: the rows evaluated, [start, end) of the whole file's `total`. */
  range?: RowRange | undefined;
  /** Language-model runs (`--shift-labels`, `--per-sequence`, `--bytes`): what finish adds. */
  lm?: LanguageModelRun | undefined;
  display: {
    sortClasses: "class" | "loss";
    topClasses: number | null;
    /** `--group-by`'s column, and how many groups the table shows (`--top-groups`; 0: all). */
    groupBy?: string | undefined;
    topGroups?: number | undefined;
  };
}

export interface Assertion {
  expr: string;
  value: number;
  passed: boolean;
}

export interface Report {
  run: RunInfo;
  summary: Summary;
  assertions: Assertion[] | null;
  /** `--emit-state`: the partial sums, for `xent merge`. */
  state?: ShardState | undefined;
  /** `--group-by`: every group's numbers, in the order of the group values. */
  groups?: GroupSummary[] | undefined;
}

export const SCHEMA = "xent.eval/1";

/**
 * A `per_sample` entry. Its fields depend on the task (SAMPLE_FIELDS): multiclass rows carry the
 * target class, prediction and p_target; binary rows the target as given, the prediction at the
 * threshold and p = P(class 1); multilabel rows the counts of positive, predicted and wrong labels.
 */
export interface SampleJson {
  index: number;
  id?: string;
  /** The row's coordinates over the input's axes other than the class axis (K-dim inputs). */
  pos?: number[];
  target?: number | null;
  loss: number | null;
  nll: number | null;
  pred?: number | null;
  p_target?: number | null;
  p?: number | null;
  positives?: number | null;
  predicted?: number | null;
  wrong?: number | null;
  ignored: boolean;
  skipped?: true;
}

/** The per-sample fields of each task, in order, between `index`/`id` and `ignored`. */
export const SAMPLE_FIELDS = {
  multiclass: ["target", "loss", "nll", "pred", "p_target"],
  binary: ["target", "loss", "nll", "pred", "p"],
  multilabel: ["loss", "nll", "positives", "predicted", "wrong"],
} as const satisfies Record<Task, readonly (keyof SampleJson)[]>;

/** Row r of a block as a `per_sample` entry; the fields of an unused row are null. */
export function sampleJson(
  res: RowResults,
  r: number,
  labels: RowLabels,
  task: Task = "multiclass",
  shape: readonly number[] | null = null,
): SampleJson {
  const index = res.start + r;
  const where = {
    id: labels.ids?.[r],
    pos: labels.pos ? positionAt(labels.pos, r) : shape ? unravel(index, shape) : undefined,
  };
  const status = res.status[r]!;
  const used = status !== IGNORED && status !== SKIPPED;
  const skipped = status === SKIPPED;
  const unused = { ignored: !used, ...(skipped ? { skipped: true as const } : {}) };
  const loss = skipped ? null : res.loss[r]!;
  const nll = used ? res.nll[r]! : null;
  if (task === "multilabel") {
    return sample(index, where, {
      // The row's mean over its labels: the mean of these is `loss`.
      loss: loss === null ? null : loss / res.weight[r]!,
      nll,
      positives: used ? res.target[r]! : null,
      predicted: used ? res.pred[r]! : null,
      wrong: used ? res.rank[r]! : null,
      ...unused,
    });
  }
  if (task === "binary") {
    const value = res.value[r]!;
    return sample(index, where, {
      target: value === value ? value : null,
      loss,
      nll,
      pred: used ? res.pred[r]! : null,
      p: used ? res.pTarget[r]! : null,
      ...unused,
    });
  }
  const target = skipped && res.target[r] === -1 ? null : res.target[r]!;
  return sample(index, where, {
    target,
    loss,
    nll,
    pred: used ? res.pred[r]! : null,
    p_target: used ? res.pTarget[r]! : null,
    ...unused,
  });
}

export function worstJson(
  row: WorstRow,
  task: Task = "multiclass",
  shape: readonly number[] | null = null,
): SampleJson {
  const where = { id: row.id, pos: row.pos ?? (shape ? unravel(row.index, shape) : undefined) };
  if (task === "multilabel") {
    return sample(row.index, where, {
      loss: row.loss / (row.weight ?? 1),
      nll: row.nll,
      positives: row.target,
      predicted: row.pred,
      wrong: row.wrong ?? null,
      ignored: false,
    });
  }
  if (task === "binary") {
    return sample(row.index, where, {
      target: row.value ?? row.target,
      loss: row.loss,
      nll: row.nll,
      pred: row.pred,
      p: row.pTarget,
      ignored: false,
    });
  }
  return sample(row.index, where, {
    target: row.target,
    loss: row.loss,
    nll: row.nll,
    pred: row.pred,
    p_target: row.pTarget,
    ignored: false,
  });
}

/** `id` and `pos` (when there are) right after `index`, as in the contract's example. */
function sample(
  index: number,
  where: { id: string | undefined; pos: number[] | undefined },
  rest: Omit<SampleJson, "index" | "id" | "pos">,
): SampleJson {
  return {
    index,
    ...(where.id === undefined ? {} : { id: where.id }),
    ...(where.pos === undefined ? {} : { pos: where.pos }),
    ...rest,
  };
}

/** The JSON document without `per_sample` (which the JSON printer streams). */
export function documentJson(report: Report) {
  const { run, summary, assertions } = report;
  const doc: Record<string, unknown> = {
    schema: SCHEMA,
    inputs: run.inputs,
    options: optionsJson(run.options),
    counts: summary.counts,
    loss: summary.loss,
    metrics: summary.metrics,
  };
  if (run.range) doc.range = run.range;
  if (summary.perClass) doc.per_class = summary.perClass;
  if (report.groups) doc.per_group = report.groups;
  if (run.worst > 0 && !run.perSample)
    doc.per_sample = summary.worst.rows.map((w) =>
      worstJson(w, run.options.task, run.positions?.shape ?? null),
    );
  if (assertions) doc.assertions = assertions;
  if (report.state) doc.state = report.state;
  return doc;
}
