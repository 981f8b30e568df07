import type { RowResults } from "../core/rowResults.js";
import { IGNORED, type LossOptions, SKIPPED } from "../core/types.js";
import { XentError } from "../errors.js";
import { ECE_BINS, eceBin } from "./calibration.js";
import { ExactSum } from "./exactSum.js";
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
  readonly sums = Object.fromEntries(SUMS.map((name) => [name, new ExactSum()])) as Record<SumName, ExactSum>;
  readonly eceCount = new Float64Array(ECE_BINS);
  readonly eceCorrect = new Float64Array(ECE_BINS);
  readonly eceConfidence = Array.from({ length: ECE_BINS }, () => new ExactSum());
  readonly perClass: ClassStats | null;
  readonly worst: WorstRows;

  constructor(
    readonly classes: number,
    readonly options: LossOptions,
    extras: { perClass: boolean; worst: number },
  ) {
    this.topK = new Float64Array(options.topK.length);
    this.perClass = extras.perClass ? new ClassStats(classes) : null;
    this.worst = new WorstRows(extras.worst);
  }

  /** Adds one block's rows; `ids` are the block's per-row ids, kept for the worst rows only. */
  add(res: RowResults, ids?: readonly string[]): void {
    const ks = this.options.topK;
    const pc = this.perClass;
    this.rows += res.rows;
    for (let r = 0; r < res.rows; r++) {
      const status = res.status[r]!;
      if (status === IGNORED) {
        this.ignored++;
        continue;
      }
      if (status === SKIPPED) {
        this.skipped++;
        continue;
      }
      this.used++;
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
      if (pc !== null) {
        pc.count[y]!++;
        pc.loss[y]!.add(loss);
        pc.weight[y]!.add(res.weight[r]!);
        pc.nll[y]!.add(res.nll[r]!);
        if (rank === 0) pc.correct[y]!++;
        pc.predicted[pred]!++;
      }
      const index = res.start + r;
      if (this.worst.wants(loss, index)) {
        this.worst.add({
          index,
          id: ids?.[r],
          target: y,
          loss,
          nll: res.nll[r]!,
          pred,
          pTarget: res.pTarget[r]!,
        });
      }
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
    for (let b = 0; b < ECE_BINS; b++) {
      this.eceCount[b]! += other.eceCount[b]!;
      this.eceCorrect[b]! += other.eceCorrect[b]!;
      this.eceConfidence[b]!.merge(other.eceConfidence[b]!);
    }
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
  ece: { count: number[]; correct: number[]; confidence: number[][] };
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
    },
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
  const weightSum = stats.sums.weight.value();
  if (o.reduction !== "sum" && weightSum === 0) {
    throw new XentError("empty", "nothing to average: the class weights of all used rows sum to 0");
  }
  const loss = o.reduction === "sum" ? lossSum : lossSum / weightSum;
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
    counts: { rows: stats.rows, used: stats.used, ignored: stats.ignored, skipped: stats.skipped },
    loss,
    metrics,
    perClass: stats.perClass ? perClassRows(stats.perClass, classNames) : null,
    worst: stats.worst,
  };
}

/** Each class's `loss` is F.cross_entropy's mean over that class's rows, whatever the reduction. */
function perClassRows(pc: ClassStats, names: readonly string[] | null): PerClassRow[] {
  const rows: PerClassRow[] = [];
  for (let c = 0; c < pc.classes; c++) {
    const count = pc.count[c]!;
    rows.push({
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
  return rows;
}
