import { positionAt } from "../core/positions.js";
import { POSITIVE, PREDICTED, type RowResults } from "../core/rowResults.js";
import { IGNORED, type LossOptions, type RowLabels, SKIPPED, type Task } from "../core/types.js";
import { XentError } from "../errors.js";
import { BinarySums, type BinaryTotals } from "./binarySums.js";
import { BINARY_ECE_BINS, binaryEceBin, ECE_BINS, eceBin } from "./calibration.js";
import { ExactSum } from "./exactSum.js";
import { FastExactSum } from "./fastExactSum.js";
import { WorstRows } from "./worst.js";

/** Per-class partial sums (`--per-class`). */
export class ClassStats {
  readonly count: Float64Array;
  readonly correct: Float64Array;
  readonly predicted: Float64Array;
  readonly loss: ExactSum[];
  readonly weight: ExactSum[];
  readonly nll: ExactSum[];

  constructor(readonly classes: number) {
    this.count = new Float64Array(classes);
    this.correct = new Float64Array(classes);
    this.predicted = new Float64Array(classes);
    this.loss = Array.from({ length: classes }, () => new ExactSum());
    this.weight = Array.from({ length: classes }, () => new ExactSum());
    this.nll = Array.from({ length: classes }, () => new ExactSum());
  }

  /** A row of class y predicted as `pred`: its count, sums, and whether it was right. */
  add(y: number, pred: number, right: boolean, loss: number, weight: number, nll: number): void {
    this.count[y]!++;
    this.loss[y]!.add(loss);
    this.weight[y]!.add(weight);
    this.nll[y]!.add(nll);
    if (right) this.correct[y]!++;
    this.predicted[pred]!++;
  }

  merge(other: ClassStats): void {
    for (let c = 0; c < this.classes; c++) {
      this.count[c]! += other.count[c]!;
      this.correct[c]! += other.correct[c]!;
      this.predicted[c]! += other.predicted[c]!;
      this.loss[c]!.merge(other.loss[c]!);
      this.weight[c]!.merge(other.weight[c]!);
      this.nll[c]!.merge(other.nll[c]!);
    }
  }
}

/**
 * Per-label counts of the sigmoid tasks (binary: one label, multilabel: C), behind precision,
 * recall, F1 and the confusion counts: kept always, as they are three counts per label.
 */
export class LabelCounts {
  readonly positives: Float64Array;
  readonly predicted: Float64Array;
  readonly tp: Float64Array;

  constructor(readonly labels: number) {
    this.positives = new Float64Array(labels);
    this.predicted = new Float64Array(labels);
    this.tp = new Float64Array(labels);
  }

  merge(other: LabelCounts): void {
    for (let j = 0; j < this.labels; j++) {
      this.positives[j]! += other.positives[j]!;
      this.predicted[j]! += other.predicted[j]!;
      this.tp[j]! += other.tp[j]!;
    }
  }
}

/** The classes a task has (per-class table, class names): binary's one score stands for two. */
export const tableClasses = (task: Task, classes: number) => (task === "binary" ? 2 : classes);

/**
 * The exact sums of a run, named after the per-row values they add up (RowResults' fields): the
 * one list that adding, merging, encoding and checking states loop over.
 */
export const SUMS = ["loss", "weight", "nll", "entropy", "brier"] as const;
export type SumName = (typeof SUMS)[number];

/**
 * Every partial sum behind every reduced number. Counts are integers (exact in a double up to
 * 2^53), sums are ExactSum, so adding blocks in any order or merging accumulators gives the
 * same bits: xsv's mergeable `stats`, made exact.
 */
export class Stats {
  rows = 0;
  used = 0;
  ignored = 0;
  skipped = 0;
  correct = 0;
  readonly topK: Float64Array;
  /** One exact sum per SUMS name, each over the used rows' per-row value of the same name. */
  readonly sums = Object.fromEntries(SUMS.map((name) => [name, new FastExactSum()])) as Record<
    SumName,
    FastExactSum
  >;
  /** Binary: torchmetrics' 15 bins of p and a 16th for p = 1; else 15 bins of max p. */
  readonly eceCount: Float64Array;
  readonly eceCorrect: Float64Array;
  readonly eceConfidence: FastExactSum[];
  /** Binary: Σ y per bin of the soft targets (those of 1 are counted in eceCorrect); empty otherwise. */
  readonly eceTarget: FastExactSum[];
  /** Binary and multilabel: per-label counts; null for multiclass. */
  readonly labels: LabelCounts | null;
  readonly perClass: ClassStats | null;
  readonly worst: WorstRows;
  /** Binary: the per-row sums in WebAssembly (null: in TypeScript, as everywhere without it). */
  private readonly binarySums: BinarySums | null;

  constructor(
    readonly classes: number,
    readonly options: LossOptions,
    extras: { perClass: boolean; worst: number; wasm?: boolean },
  ) {
    this.topK = new Float64Array(options.topK.length);
    const binary = options.task === "binary";
    const bins = binary ? BINARY_ECE_BINS : ECE_BINS;
    this.eceCount = new Float64Array(bins);
    this.eceCorrect = new Float64Array(bins);
    this.eceConfidence = Array.from({ length: bins }, () => new FastExactSum());
    this.eceTarget = binary ? Array.from({ length: bins }, () => new FastExactSum()) : [];
    this.labels = options.task === "multiclass" ? null : new LabelCounts(binary ? 1 : classes);
    this.perClass = extras.perClass ? new ClassStats(tableClasses(options.task, classes)) : null;
    this.worst = new WorstRows(extras.worst);
    this.binarySums = binary && extras.wasm !== false ? BinarySums.create() : null;
  }

  /** Adds one block's rows; `labels` (ids, positions) are kept for the worst rows only. */
  add(res: RowResults, labels: RowLabels = {}): void {
    if (this.options.task !== "multiclass") {
      this.addSigmoid(res, labels);
      return;
    }
    const ks = this.options.topK;
    const pc = this.perClass;
    this.rows += res.rows;
    for (let r = 0; r < res.rows; r++) {
      if (!this.counted(res.status[r]!)) continue;
      const loss = res.loss[r]!;
      const rank = res.rank[r]!;
      const y = res.target[r]!;
      const pred = res.pred[r]!;
      // Spelled out rather than looped over SUMS: this is the per-row hot path (~11 ms per 100k rows).
      const sums = this.sums;
      sums.loss.add(loss);
      sums.weight.add(res.weight[r]!);
      sums.nll.add(res.nll[r]!);
      sums.entropy.add(res.entropy[r]!);
      sums.brier.add(res.brier[r]!);
      if (rank === 0) this.correct++;
      for (let i = 0; i < ks.length; i++) if (rank < ks[i]!) this.topK[i]!++;
      const confidence = res.confidence[r]!;
      if (confidence === confidence) {
        const bin = eceBin(confidence);
        this.eceCount[bin]!++;
        if (rank === 0) this.eceCorrect[bin]!++;
        this.eceConfidence[bin]!.add(confidence);
      }
      pc?.add(y, pred, rank === 0, loss, res.weight[r]!, res.nll[r]!);
      if (this.worst.wants(loss, res.start + r)) this.keepWorst(res, r, labels);
    }
  }

  /** Counts a row by its status; true when it is used (its values go into the sums). */
  private counted(status: number): boolean {
    if (status === IGNORED) {
      this.ignored++;
      return false;
    }
    if (status === SKIPPED) {
      this.skipped++;
      return false;
    }
    this.used++;
    return true;
  }

  /** Row r among the worst rows (the caller checked that it enters the list). */
  private keepWorst(res: RowResults, r: number, labels: RowLabels): void {
    const task = this.options.task;
    this.worst.add({
      index: res.start + r,
      id: labels.ids?.[r],
      ...(labels.pos ? { pos: positionAt(labels.pos, r) } : {}),
      target: res.target[r]!,
      loss: res.loss[r]!,
      nll: res.nll[r]!,
      pred: res.pred[r]!,
      pTarget: res.pTarget[r]!,
      ...(task === "binary" ? { value: res.value[r]! } : {}),
      ...(task === "multilabel" ? { weight: res.weight[r]!, wrong: res.rank[r]! } : {}),
    });
  }

  /**
   * Binary and multilabel rows. Their weight (1, or C labels) and entropy (not reported) are
   * not summed: the mean's denominator is used × width (see summarize). Binary calibration counts
   * targets of exactly 1 and sums only soft ones: exact sums cost ~20 ns an add, and were 60% of
   * a 10M-row binary run.
   */
  private addSigmoid(res: RowResults, rowLabels: RowLabels): void {
    const binary = this.options.task === "binary";
    if (binary && this.binarySums !== null) {
      this.addBinaryInWasm(res, rowLabels, this.binarySums);
      return;
    }
    const pc = this.perClass;
    this.rows += res.rows;
    for (let r = 0; r < res.rows; r++) {
      if (!this.counted(res.status[r]!)) continue;
      const loss = res.loss[r]!;
      const rank = res.rank[r]!;
      const y = res.target[r]!;
      const pred = res.pred[r]!;
      const sums = this.sums;
      sums.loss.add(loss);
      sums.nll.add(res.nll[r]!);
      sums.brier.add(res.brier[r]!);
      if (rank === 0) this.correct++;
      if (binary) {
        const p = res.confidence[r]!;
        const bin = binaryEceBin(p);
        this.eceCount[bin]!++;
        this.eceConfidence[bin]!.add(p);
        const value = res.value[r]!;
        if (value === 1) this.eceCorrect[bin]!++;
        else if (value !== 0) this.eceTarget[bin]!.add(value);
        const labels = this.labels!;
        if (y === 1) {
          labels.positives[0]!++;
          if (pred === 1) labels.tp[0]!++;
        }
        if (pred === 1) labels.predicted[0]!++;
        pc?.add(y, pred, rank === 0, loss, 1, res.nll[r]!);
      } else this.addLabels(res, r);
      if (this.worst.wants(loss, res.start + r)) this.keepWorst(res, r, rowLabels);
    }
  }

  /** Binary rows through BinarySums (WebAssembly); per-class sums and worst rows stay here. */
  private addBinaryInWasm(res: RowResults, rowLabels: RowLabels, wasm: BinarySums): void {
    const labels = this.labels!;
    const totals: BinaryTotals = {
      used: 0,
      ignored: 0,
      skipped: 0,
      correct: 0,
      positives: 0,
      predicted: 0,
      tp: 0,
      binCount: this.eceCount,
      binOnes: this.eceCorrect,
      loss: this.sums.loss,
      nll: this.sums.nll,
      brier: this.sums.brier,
      confidence: this.eceConfidence,
      target: this.eceTarget,
    };
    wasm.add(res, totals);
    this.rows += res.rows;
    this.used += totals.used;
    this.ignored += totals.ignored;
    this.skipped += totals.skipped;
    this.correct += totals.correct;
    labels.positives[0]! += totals.positives;
    labels.predicted[0]! += totals.predicted;
    labels.tp[0]! += totals.tp;
    const pc = this.perClass;
    if (pc === null && this.worst.k === 0) return;
    for (let r = 0; r < res.rows; r++) {
      const status = res.status[r]!;
      if (status === IGNORED || status === SKIPPED) continue;
      const loss = res.loss[r]!;
      pc?.add(res.target[r]!, res.pred[r]!, res.rank[r] === 0, loss, 1, res.nll[r]!);
      if (this.worst.wants(loss, res.start + r)) this.keepWorst(res, r, rowLabels);
    }
  }

  /** A multilabel row's elements: per-label counts, and per-label sums with --per-class. */
  private addLabels(res: RowResults, r: number): void {
    const C = this.classes;
    const { flags, loss, nll } = res.labels!;
    const counts = this.labels!;
    const pc = this.perClass;
    const offset = r * C;
    for (let j = 0; j < C; j++) {
      const f = flags[offset + j]!;
      if (f & POSITIVE) counts.positives[j]!++;
      if (f & PREDICTED) counts.predicted[j]!++;
      if (f === (POSITIVE | PREDICTED)) counts.tp[j]!++;
    }
    if (pc === null) return;
    for (let j = 0; j < C; j++) {
      const f = flags[offset + j]!;
      if (f & POSITIVE) pc.count[j]!++;
      if (f & PREDICTED) pc.predicted[j]!++;
      if (f === (POSITIVE | PREDICTED) || f === 0) pc.correct[j]!++;
      pc.loss[j]!.add(loss[offset + j]!);
      pc.weight[j]!.add(1);
      pc.nll[j]!.add(nll[offset + j]!);
    }
  }

  merge(other: Stats): void {
    this.rows += other.rows;
    this.used += other.used;
    this.ignored += other.ignored;
    this.skipped += other.skipped;
    this.correct += other.correct;
    for (let i = 0; i < this.topK.length; i++) this.topK[i]! += other.topK[i]!;
    for (const name of SUMS) this.sums[name].merge(other.sums[name]);
    for (let b = 0; b < this.eceCount.length; b++) {
      this.eceCount[b]! += other.eceCount[b]!;
      this.eceCorrect[b]! += other.eceCorrect[b]!;
      this.eceConfidence[b]!.merge(other.eceConfidence[b]!);
    }
    for (let b = 0; b < this.eceTarget.length; b++) this.eceTarget[b]!.merge(other.eceTarget[b]!);
    if (this.labels && other.labels) this.labels.merge(other.labels);
    if (this.perClass && other.perClass) this.perClass.merge(other.perClass);
    this.worst.merge(other.worst);
  }
}

/** Stats as plain data: what worker threads send back, and the heart of `--emit-state`'s state. */
export interface StatsState {
  rows: number;
  used: number;
  ignored: number;
  skipped: number;
  correct: number;
  topK: number[];
  sums: Record<SumName, number[]>;
  ece: { count: number[]; correct: number[]; confidence: number[][]; target?: number[][] };
  /** Binary and multilabel. */
  labels?: { positives: number[]; predicted: number[]; tp: number[] };
  perClass: {
    count: number[];
    correct: number[];
    predicted: number[];
    loss: number[][];
    weight: number[][];
    nll: number[][];
  } | null;
  worst: WorstRows["rows"];
}

export function statsToState(s: Stats): StatsState {
  const pc = s.perClass;
  return {
    rows: s.rows,
    used: s.used,
    ignored: s.ignored,
    skipped: s.skipped,
    correct: s.correct,
    topK: Array.from(s.topK),
    sums: Object.fromEntries(SUMS.map((name) => [name, s.sums[name].toJSON()])) as Record<SumName, number[]>,
    ece: {
      count: Array.from(s.eceCount),
      correct: Array.from(s.eceCorrect),
      confidence: s.eceConfidence.map((x) => x.toJSON()),
      ...(s.eceTarget.length > 0 ? { target: s.eceTarget.map((x) => x.toJSON()) } : {}),
    },
    ...(s.labels
      ? {
          labels: {
            positives: Array.from(s.labels.positives),
            predicted: Array.from(s.labels.predicted),
            tp: Array.from(s.labels.tp),
          },
        }
      : {}),
    perClass: pc && {
      count: Array.from(pc.count),
      correct: Array.from(pc.correct),
      predicted: Array.from(pc.predicted),
      loss: pc.loss.map((x) => x.toJSON()),
      weight: pc.weight.map((x) => x.toJSON()),
      nll: pc.nll.map((x) => x.toJSON()),
    },
    worst: s.worst.rows,
  };
}

/** Adds a state's sums into `into` (as Stats.merge does for a live accumulator). */
export function mergeState(into: Stats, state: StatsState): void {
  const other = new Stats(into.classes, into.options, {
    perClass: state.perClass !== null,
    worst: into.worst.k,
  });
  other.rows = state.rows;
  other.used = state.used;
  other.ignored = state.ignored;
  other.skipped = state.skipped;
  other.correct = state.correct;
  other.topK.set(state.topK);
  for (const name of SUMS) other.sums[name].merge(ExactSum.fromJSON(state.sums[name]));
  other.eceCount.set(state.ece.count);
  other.eceCorrect.set(state.ece.correct);
  for (const [b, c] of state.ece.confidence.entries()) other.eceConfidence[b]!.merge(ExactSum.fromJSON(c));
  for (const [b, t] of (state.ece.target ?? []).entries()) other.eceTarget[b]!.merge(ExactSum.fromJSON(t));
  if (state.labels && other.labels) {
    other.labels.positives.set(state.labels.positives);
    other.labels.predicted.set(state.labels.predicted);
    other.labels.tp.set(state.labels.tp);
  }
  if (state.perClass && other.perClass) {
    const pc = other.perClass;
    pc.count.set(state.perClass.count);
    pc.correct.set(state.perClass.correct);
    pc.predicted.set(state.perClass.predicted);
    for (let c = 0; c < pc.classes; c++) {
      pc.loss[c]!.merge(ExactSum.fromJSON(state.perClass.loss[c]!));
      pc.weight[c]!.merge(ExactSum.fromJSON(state.perClass.weight[c]!));
      pc.nll[c]!.merge(ExactSum.fromJSON(state.perClass.nll[c]!));
    }
  }
  for (const row of state.worst) other.worst.add(row);
  into.merge(other);
}

export interface PerClassRow {
  class: number;
  name: string | null;
  count: number;
  loss: number;
  nll: number;
  accuracy: number;
  precision: number;
  /** Multilabel only. */
  recall?: number;
  f1?: number;
  predicted: number;
}

export interface Summary {
  counts: { rows: number; used: number; ignored: number; skipped: number };
  loss: number;
  metrics: Record<string, number>;
  perClass: PerClassRow[] | null;
  worst: WorstRows;
}

/**
 * The reduced numbers, each computed once from exact sums (so deterministic). A mean over
 * nothing is an input error rather than PyTorch's NaN.
 */
export function summarize(stats: Stats, classNames: readonly string[] | null): Summary {
  const o = stats.options;
  if (stats.used === 0) {
    const why =
      stats.rows === 0
        ? "the input has no rows"
        : `all ${stats.rows} rows are ${stats.skipped > 0 ? "ignored or skipped" : `ignored (--ignore-index ${o.ignoreIndex})`}`;
    throw new XentError("empty", `nothing to average: ${why}`);
  }
  const lossSum = stats.sums.loss.value();
  // Sigmoid tasks: every used row weighs its label count (PyTorch's mean is over elements).
  const weightSum =
    o.task === "multiclass"
      ? stats.sums.weight.value()
      : stats.used * (o.task === "multilabel" ? stats.classes : 1);
  if (o.reduction !== "sum" && weightSum === 0) {
    throw new XentError("empty", "nothing to average: the class weights of all used rows sum to 0");
  }
  const loss = o.reduction === "sum" ? lossSum : lossSum / weightSum;
  const counts = { rows: stats.rows, used: stats.used, ignored: stats.ignored, skipped: stats.skipped };
  if (o.task !== "multiclass") {
    const metrics = o.task === "binary" ? binaryMetrics(stats) : multilabelMetrics(stats);
    const perClass = stats.perClass
      ? perClassRows(stats.perClass, classNames, o.task === "multilabel" ? stats.used : null)
      : null;
    return { counts, loss, metrics, perClass, worst: stats.worst };
  }
  const n = stats.used;
  const nll = stats.sums.nll.value() / n;
  const metrics: Record<string, number> = {
    nll,
    perplexity: Math.exp(nll),
    accuracy: stats.correct / n,
  };
  o.topK.forEach((k, i) => {
    metrics[`top${k}_accuracy`] = stats.topK[i]! / n;
  });
  metrics.entropy = stats.sums.entropy.value() / n;
  metrics.brier = stats.sums.brier.value() / n;
  let ece = 0;
  for (let b = 0; b < ECE_BINS; b++) {
    const nb = stats.eceCount[b]!;
    if (nb === 0) continue;
    ece += (nb / n) * Math.abs(stats.eceCorrect[b]! / nb - stats.eceConfidence[b]!.value() / nb);
  }
  metrics.ece = ece;
  return {
    counts,
    loss,
    metrics,
    perClass: stats.perClass ? perClassRows(stats.perClass, classNames, null) : null,
    worst: stats.worst,
  };
}

/**
 * Precision, recall and F1 as scikit-learn's `precision_recall_fscore_support` with
 * `zero_division=0`: a ratio over nothing (no predicted or no actual positives) is 0.
 */
function prf(tp: number, predicted: number, positives: number) {
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    precision: ratio(tp, predicted),
    recall: ratio(tp, positives),
    f1: ratio(2 * tp, predicted + positives),
  };
}

/**
 * Binary metrics over the used rows: nll, accuracy at the threshold, the positive class's
 * precision/recall/F1, Brier (scikit-learn's brier_score_loss), torchmetrics' binary ECE, and
 * the confusion counts.
 */
function binaryMetrics(stats: Stats): Record<string, number> {
  const n = stats.used;
  const labels = stats.labels!;
  const tp = labels.tp[0]!;
  const fp = labels.predicted[0]! - tp;
  const fn = labels.positives[0]! - tp;
  let ece = 0;
  for (let b = 0; b < stats.eceCount.length; b++) {
    const nb = stats.eceCount[b]!;
    if (nb === 0) continue;
    // Σ y over the bin: targets of exactly 1 counted, soft ones summed.
    const targets = stats.eceCorrect[b]! + stats.eceTarget[b]!.value();
    ece += (nb / n) * Math.abs(targets / nb - stats.eceConfidence[b]!.value() / nb);
  }
  return {
    nll: stats.sums.nll.value() / n,
    accuracy: stats.correct / n,
    ...prf(tp, labels.predicted[0]!, labels.positives[0]!),
    brier: stats.sums.brier.value() / n,
    ece,
    tp,
    fp,
    tn: n - tp - fp - fn,
    fn,
  };
}

/**
 * Multilabel metrics, per element (N × C) unless named otherwise: nll, hamming accuracy, exact
 * match (rows with every label right), micro precision/recall/F1 (counts summed over labels),
 * macro F1 (mean of the labels' F1, scikit-learn's `average='macro'`), Brier.
 */
function multilabelMetrics(stats: Stats): Record<string, number> {
  const n = stats.used;
  const labels = stats.labels!;
  let tp = 0;
  let predicted = 0;
  let positives = 0;
  let macro = 0;
  for (let j = 0; j < labels.labels; j++) {
    tp += labels.tp[j]!;
    predicted += labels.predicted[j]!;
    positives += labels.positives[j]!;
    macro += prf(labels.tp[j]!, labels.predicted[j]!, labels.positives[j]!).f1;
  }
  const micro = prf(tp, predicted, positives);
  const wrong = predicted + positives - 2 * tp;
  return {
    nll: stats.sums.nll.value() / n,
    hamming_accuracy: 1 - wrong / (n * labels.labels),
    exact_match: stats.correct / n,
    micro_precision: micro.precision,
    micro_recall: micro.recall,
    micro_f1: micro.f1,
    macro_f1: macro / labels.labels,
    brier: stats.sums.brier.value() / n,
  };
}

/**
 * Each class's `loss` is F.cross_entropy's mean over that class's rows, whatever the reduction.
 * Multilabel (`rows` given): a label's loss and nll are means over every row, its count the rows
 * where it is positive, with recall and F1 beside precision.
 */
function perClassRows(pc: ClassStats, names: readonly string[] | null, rows: number | null): PerClassRow[] {
  const out: PerClassRow[] = [];
  for (let c = 0; c < pc.classes; c++) {
    const count = pc.count[c]!;
    if (rows !== null) {
      // correct counts tp + tn, and tn = rows − count − predicted + tp.
      const tp = (pc.correct[c]! - rows + count + pc.predicted[c]!) / 2;
      const { precision, recall, f1 } = prf(tp, pc.predicted[c]!, count);
      out.push({
        class: c,
        name: names?.[c] ?? null,
        count,
        loss: pc.loss[c]!.value() / pc.weight[c]!.value(),
        nll: pc.nll[c]!.value() / pc.weight[c]!.value(),
        accuracy: pc.correct[c]! / rows,
        precision,
        recall,
        f1,
        predicted: pc.predicted[c]!,
      });
      continue;
    }
    out.push({
      class: c,
      name: names?.[c] ?? null,
      count,
      loss: pc.loss[c]!.value() / pc.weight[c]!.value(),
      nll: pc.nll[c]!.value() / count,
      accuracy: pc.correct[c]! / count,
      precision: pc.correct[c]! / pc.predicted[c]!,
      predicted: pc.predicted[c]!,
    });
  }
  return out;
}
