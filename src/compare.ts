import { makeKernel } from "./core/kernel.js";
import { allocRowResults, type RowResults } from "./core/rowResults.js";
import type { LossOptions, RowBlock } from "./core/types.js";
import { USED } from "./core/types.js";
import { XentError } from "./errors.js";
import { addLanguageModelMetrics, type LanguageModelRun } from "./lm/metrics.js";
import { BOOT_SUMS, type BootSum, interval, PairedBootstrap } from "./metrics/bootstrap.js";
import { GroupStats, type GroupSummary } from "./metrics/groups.js";
import { mcnemarExact } from "./metrics/mcnemar.js";
import { Stats, type Summary, summarize } from "./metrics/stats.js";

/**
 * `xent compare`'s core: two evaluations of the same rows in lockstep (each side's blocks through
 * its own kernel into its own exact Stats, as two evals would), the rows paired one to one for a
 * paired Poisson bootstrap of every difference and McNemar's exact test of accuracy. Knows
 * nothing of files or printers: blocks in, a comparison out.
 */

export interface CompareOptions {
  classes: number;
  loss: LossOptions;
  perClass: boolean;
  resamples: number;
  confidence: number;
  seed: number;
  /** Named in errors: the two prediction files. */
  files: { baseline: string; candidate: string };
  /** `--group-by`'s column (or "group" for `--groups FILE`): the baseline's blocks carry the values. */
  groupBy?: string | undefined;
  /**
   * The index of the first row in the whole (`--first-row`): a shard's rows draw the bootstrap
   * weights of their place in the whole, so shards merge to the whole file's intervals bit for bit.
   */
  firstRow: number;
  classNames: readonly string[] | null;
  /** Language-model runs: the metrics they add, to both sides (bits_per_token with an interval). */
  lm?: LanguageModelRun | undefined;
}

/** The exact sums behind a comparison: what `--emit-state` writes and `xent merge` adds up. */
export interface CompareParts {
  base: Stats;
  cand: Stats;
  boot: PairedBootstrap;
  onlyBase: number;
  onlyCand: number;
  rows: number;
}

/** A group's two evaluations and their differences (null when no row of the group is used). */
export interface GroupDelta {
  group: string;
  count: number;
  used: number;
  baseline: { loss: number | null; metrics: Record<string, number> | null };
  candidate: { loss: number | null; metrics: Record<string, number> | null };
  delta: Record<string, Delta> | null;
}

/** Groups with their own bootstrap (~0.3 MB each); beyond, per-group deltas come without intervals. */
export const MAX_INTERVAL_GROUPS = 100;

export interface Delta {
  value: number;
  low: number | null;
  high: number | null;
  level: number;
  p_value: number | null;
  /** accuracy: McNemar's exact test on the discordant rows. */
  mcnemar?: { baseline_only: number; candidate_only: number; p_value: number };
}

export interface Comparison {
  baseline: Summary;
  candidate: Summary;
  delta: Record<string, Delta>;
  /** `--group-by`: per group, in the order of the group values. */
  groups?: GroupDelta[];
}

/** One side's rows, evaluated a block at a time, handed out in runs of any length. */
class Side {
  private readonly it: AsyncIterator<RowBlock>;
  private readonly kernel;
  readonly stats: Stats;
  results: RowResults | null = null;
  block: RowBlock | null = null;
  at = 0;

  constructor(
    blocks: AsyncIterable<RowBlock>,
    options: CompareOptions,
    private readonly file: string,
  ) {
    this.it = blocks[Symbol.asyncIterator]();
    this.kernel = makeKernel(options.loss, options.classes);
    this.stats = new Stats(options.classes, options.loss, { perClass: options.perClass, worst: 0 });
  }

  /** The next block, read while this side's last one is paired (its scores are evaluated by then). */
  private ahead: Promise<IteratorResult<RowBlock>> | null = null;

  private pull(): Promise<IteratorResult<RowBlock>> {
    const p = this.it.next();
    // Its failure is reported when it is awaited; until then it must not be "unhandled".
    p.catch(() => {});
    return p;
  }

  /** Rows left in the current block, reading the next one when it is used up (0 at the end). */
  async left(): Promise<number> {
    while (this.results === null || this.at >= this.results.rows) {
      const next = await (this.ahead ?? this.pull());
      this.ahead = null;
      if (next.done) return 0;
      const block = next.value;
      // Each block gets results of its own: the other side may still be pairing the last one.
      const results = allocRowResults(block.rows, this.kernel.labels);
      results.rows = block.rows;
      results.start = block.start;
      try {
        this.kernel.evaluate(block, results);
      } catch (e) {
        throw e instanceof XentError && e.context.file === undefined ? e.at({ file: this.file }) : e;
      }
      this.stats.add(results, block);
      // Readers may reuse a block's buffers for the next: it is read only once this one is evaluated.
      this.ahead = this.pull();
      this.results = results;
      this.block = block;
      this.at = 0;
    }
    return this.results.rows - this.at;
  }
}

export async function compare(
  baseline: AsyncIterable<RowBlock>,
  candidate: AsyncIterable<RowBlock>,
  options: CompareOptions,
): Promise<{ comparison: Comparison; parts: CompareParts }> {
  const b = new Side(baseline, options, options.files.baseline);
  const c = new Side(candidate, options, options.files.candidate);
  const boot = new PairedBootstrap(options.resamples, options.seed);
  let onlyBase = 0;
  let onlyCand = 0;
  let row = 0;
  const grouped = options.groupBy === undefined ? null : new Grouped(options);
  for (;;) {
    const [nb, nc] = await Promise.all([b.left(), c.left()]);
    if (nb === 0 || nc === 0) {
      if (nb !== nc) {
        const longer = nb > 0 ? options.files.baseline : options.files.candidate;
        throw new XentError(
          "shape",
          `has more rows than the other predictions (${row} rows in both up to here)`,
          {
            file: longer,
          },
        );
      }
      break;
    }
    const n = Math.min(nb, nc);
    const rb = b.results!;
    const rc = c.results!;
    checkPaired(b, c, n, row, options.files.candidate);
    boot.add(rb, b.at, rc, c.at, n, options.firstRow + row);
    if (grouped) {
      const values = b.block!.groups;
      if (values === undefined) throw new Error("a baseline block without --group-by values");
      grouped.add(rb, b.at, rc, c.at, n, options.firstRow + row, values.slice(b.at, b.at + n));
    }
    const [o, p] = discordant(rb, b.at, rc, c.at, n);
    onlyBase += o;
    onlyCand += p;
    b.at += n;
    c.at += n;
    row += n;
  }
  const parts: CompareParts = { base: b.stats, cand: c.stats, boot, onlyBase, onlyCand, rows: row };
  const comparison = comparisonOf(parts, options, grouped?.sides() ?? null);
  if (grouped) comparison.groups = grouped.result();
  return { comparison, parts };
}

/** The reported numbers from the exact sums (a run's, or merged shards'). */
export function comparisonOf(
  parts: CompareParts,
  options: Pick<CompareOptions, "classes" | "loss" | "resamples" | "confidence" | "classNames" | "lm">,
  /** Each side's groups (`--per-sequence`: its sequences, for sequence_perplexity). */
  groups: { base: GroupSummary[]; cand: GroupSummary[] } | null = null,
): Comparison {
  const base = summarize(parts.base, options.classNames);
  const cand = summarize(parts.cand, options.classNames);
  if (options.lm) {
    addLanguageModelMetrics(base, parts.base.used, options.lm, groups?.base ?? null);
    addLanguageModelMetrics(cand, parts.cand.used, options.lm, groups?.cand ?? null);
  }
  return {
    baseline: base,
    candidate: cand,
    delta: deltas(base, cand, parts.boot, options, parts.onlyBase, parts.onlyCand),
  };
}

/** Per-group sides, bootstraps and McNemar counts, fed the paired runs of rows. */
class Grouped {
  private readonly base: GroupStats;
  private readonly cand: GroupStats;
  private boots: Map<string, PairedBootstrap> | null = new Map();
  private readonly discordant = new Map<string, [number, number]>();

  constructor(private readonly options: CompareOptions) {
    this.base = new GroupStats(options.classes, options.loss, options.groupBy!);
    this.cand = new GroupStats(options.classes, options.loss, options.groupBy!);
  }

  add(
    rb: RowResults,
    bAt: number,
    rc: RowResults,
    cAt: number,
    n: number,
    row: number,
    values: string[],
  ): void {
    this.base.add(rb, values, bAt, n);
    this.cand.add(rc, values, cAt, n);
    for (const g of new Set(values)) {
      const counts = this.discordant.get(g) ?? [0, 0];
      const [o, p] = discordant(rb, bAt, rc, cAt, n, (k) => values[k] === g);
      this.discordant.set(g, [counts[0] + o, counts[1] + p]);
      if (this.boots === null) continue;
      let boot = this.boots.get(g);
      if (boot === undefined) {
        if (this.boots.size >= MAX_INTERVAL_GROUPS) {
          this.boots = null;
          continue;
        }
        boot = new PairedBootstrap(this.options.resamples, this.options.seed);
        this.boots.set(g, boot);
      }
      boot.add(rb, bAt, rc, cAt, n, row, (k) => values[k] === g);
    }
  }

  sides(): { base: GroupSummary[]; cand: GroupSummary[] } {
    return { base: this.base.summarize(null), cand: this.cand.summarize(null) };
  }

  result(): GroupDelta[] {
    const base = new Map(this.base.summarize(null).map((g) => [g.group, g]));
    return this.cand.summarize(null).map((c) => {
      const b = base.get(c.group)!;
      const [onlyBase, onlyCand] = this.discordant.get(c.group) ?? [0, 0];
      const boot = this.boots?.get(c.group) ?? null;
      const delta =
        b.loss === null || c.loss === null
          ? null
          : deltas(
              { loss: b.loss, metrics: b.metrics! },
              { loss: c.loss, metrics: c.metrics! },
              boot,
              this.options,
              onlyBase,
              onlyCand,
            );
      return {
        group: c.group,
        count: c.count,
        used: c.used,
        baseline: { loss: b.loss, metrics: b.metrics },
        candidate: { loss: c.loss, metrics: c.metrics },
        delta,
      };
    });
  }
}

/** The two sides' rows are the same rows: same targets and use, the same ids when both have them. */
function checkPaired(b: Side, c: Side, n: number, row: number, file: string): void {
  const rb = b.results!;
  const rc = c.results!;
  const idsB = b.block!.ids;
  const idsC = c.block!.ids;
  for (let k = 0; k < n; k++) {
    const i = b.at + k;
    const j = c.at + k;
    if (rb.status[i] !== rc.status[j] || (rb.status[i] === USED && rb.target[i] !== rc.target[j]))
      throw new XentError(
        "value",
        "the baseline and the candidate have different targets here: compare needs the same rows",
        { file, row: row + k },
      );
    if (idsB && idsC && idsB[i] !== idsC[j])
      throw new XentError(
        "value",
        `row ids differ: '${idsC[j]}' where the baseline has '${idsB[i]}' (compare pairs rows by position)`,
        { file, row: row + k },
      );
  }
}

/** Whether a larger value of the metric is better (accuracy) or worse (loss). */
export const HIGHER_IS_BETTER = /accuracy|precision|recall|f1|exact_match|^tp$|^tn$/;

type Numbers = Pick<Summary, "loss" | "metrics">;

function deltas(
  base: Numbers,
  cand: Numbers,
  /** null: values only (intervals null). */
  boot: PairedBootstrap | null,
  options: Pick<CompareOptions, "classes" | "loss" | "resamples" | "confidence">,
  onlyBase: number,
  onlyCand: number,
): Record<string, Delta> {
  const level = options.confidence;
  const task = options.loss.task;
  const replicated = boot === null ? {} : replicatedDeltas(boot, options);
  const out: Record<string, Delta> = {};
  for (const name of ["loss", ...Object.keys(cand.metrics)]) {
    const value = name === "loss" ? cand.loss - base.loss : cand.metrics[name]! - base.metrics[name]!;
    const reps = replicated[name];
    const ci = reps ? interval(reps, level) : null;
    out[name] = {
      value,
      low: ci ? ci.low : null,
      high: ci ? ci.high : null,
      level,
      p_value: ci ? ci.p_value : null,
    };
  }
  if (out.accuracy && task !== "multilabel") {
    out.accuracy.mcnemar = {
      baseline_only: onlyBase,
      candidate_only: onlyCand,
      p_value: mcnemarExact(onlyBase, onlyCand),
    };
  }
  return out;
}

/** Each replicate's difference, for the metrics that have intervals. */
function replicatedDeltas(
  boot: PairedBootstrap,
  options: Pick<CompareOptions, "classes" | "loss" | "resamples">,
): Record<string, Float64Array> {
  const reps = boot.replicates();
  const task = options.loss.task;
  const R = options.resamples;
  const per = (f: (r: Record<BootSum, number>) => number) => {
    const out = new Float64Array(R);
    const one = {} as Record<BootSum, number>;
    for (let r = 0; r < R; r++) {
      for (const k of BOOT_SUMS) one[k] = reps[k][r]!;
      out[r] = f(one);
    }
    return out;
  };
  const width = task === "multilabel" ? options.classes : 1;
  const replicated: Record<string, Float64Array> = {
    loss: per((s) =>
      options.loss.reduction === "sum"
        ? s.dLoss
        : s.dLoss / (task === "multiclass" ? s.weight : s.used * width),
    ),
  };
  if (task !== "multilabel") {
    replicated.nll = per((s) => s.dNll / s.used);
    replicated.accuracy = per((s) => s.dCorrect / s.used);
    replicated.brier = per((s) => s.dBrier / s.used);
  }
  if (task === "multiclass")
    replicated.perplexity = per(
      (s) => Math.exp((s.baseNll + s.dNll) / s.used) - Math.exp(s.baseNll / s.used),
    );
  // Language-model runs: bits per token is nll in bits, its interval the nll's in bits.
  if (replicated.nll) replicated.bits_per_token = replicated.nll.map((d) => d / Math.LN2);
  return replicated;
}

/** Paired used rows right only in the baseline, and only in the candidate (McNemar's b and c). */
function discordant(
  rb: RowResults,
  bAt: number,
  rc: RowResults,
  cAt: number,
  n: number,
  keep?: (k: number) => boolean,
): [number, number] {
  let onlyBase = 0;
  let onlyCand = 0;
  for (let k = 0; k < n; k++) {
    if (rb.status[bAt + k] !== USED || (keep && !keep(k))) continue;
    const baseRight = rb.rank[bAt + k] === 0;
    const candRight = rc.rank[cAt + k] === 0;
    if (baseRight && !candRight) onlyBase++;
    else if (candRight && !baseRight) onlyCand++;
  }
  return [onlyBase, onlyCand];
}

/** A delta's verdict: better or worse when the interval leaves 0 out, else "no difference". */
export function verdict(name: string, d: Delta): string {
  if (d.low === null || d.high === null || Number.isNaN(d.low)) return "";
  if (d.low <= 0 && d.high >= 0) return "no difference";
  const up = d.low > 0;
  return up === HIGHER_IS_BETTER.test(name) ? "better" : "worse";
}
