import { XentError } from "../errors.js";
import { addLanguageModelMetrics } from "../lm/metrics.js";
import type { GroupStats, GroupSummary } from "../metrics/groups.js";
import { type Stats, type Summary, summarize } from "../metrics/stats.js";
import type { Printer } from "../output/printer.js";
import type { Writer } from "../output/writer.js";
import type { Assertion, Report, RunInfo } from "../wire/eval.js";
import { optionsJson } from "../wire/options.js";
import { shardState } from "../wire/state.js";
import { type AssertSpec, holds } from "./values.js";

/** How a command ended, for main.ts to turn into an exit code. */
export type Outcome = "ok" | "assertion-failed";

/**
 * An assertion's value: a metric of the run, or over the groups (`max_group.loss`,
 * `min_group.accuracy`, `group_gap.accuracy` = max − min), groups without used rows left out.
 */
function assertedValue(metric: string, summary: Summary, groups: readonly GroupSummary[] | null): number {
  const of = (name: string, loss: number | null, metrics: Record<string, number> | null) =>
    name === "loss" ? loss : (metrics?.[name] ?? null);
  const dot = metric.indexOf(".");
  if (dot < 0) return of(metric, summary.loss, summary.metrics)!;
  const values = (groups ?? [])
    .map((g) => of(metric.slice(dot + 1), g.loss, g.metrics))
    .filter((v): v is number => v !== null && !Number.isNaN(v));
  if (values.length === 0) return Number.NaN;
  const max = Math.max(...values);
  const min = Math.min(...values);
  const over = metric.slice(0, dot);
  return over === "max_group" ? max : over === "min_group" ? min : max - min;
}

/**
 * A shard's numbers: a shard of one file (`--shard`) may hold only ignored rows (a run of padding),
 * and its state still counts in the merge, so "nothing to average" is its loss (null in JSON),
 * not an error; the merge of all shards says it if the whole has nothing either.
 */
function summarizeShard(stats: Stats, classNames: readonly string[] | null): Summary {
  try {
    return summarize(stats, classNames);
  } catch (e) {
    if (!(e instanceof XentError) || e.code !== "empty") throw e;
    const counts = { rows: stats.rows, used: stats.used, ignored: stats.ignored, skipped: stats.skipped };
    return { counts, loss: Number.NaN, metrics: {}, perClass: null, worst: stats.worst };
  }
}

/** Every `--assert` evaluated on the final numbers (null when there are none). */
export function checkAssertions(
  specs: readonly AssertSpec[],
  summary: Summary,
  groups: readonly GroupSummary[] | null = null,
): Assertion[] | null {
  if (specs.length === 0) return null;
  return specs.map((spec) => {
    const value = assertedValue(spec.metric, summary, groups);
    return { expr: spec.expr, value, passed: holds(spec, value) };
  });
}

/**
 * The end every evaluation shares, `eval` and `merge` alike: the exact sums summarised, the
 * assertions checked, the state added when asked for, the report printed and flushed.
 */
export async function finish(
  stats: Stats,
  run: RunInfo,
  asserts: readonly AssertSpec[],
  emitState: boolean,
  printer: Printer,
  out: Writer,
  groupStats: GroupStats | null = null,
  /** Language-model runs: the sequences the input holds, for the state (merge renumbers by them). */
  sequences = 0,
): Promise<{ outcome: Outcome; failed: Assertion[] }> {
  const summary = emitState ? summarizeShard(stats, run.classNames) : summarize(stats, run.classNames);
  const groups = groupStats?.summarize(run.classNames) ?? null;
  if (run.lm) addLanguageModelMetrics(summary, stats.used, run.lm, groups);
  const assertions = checkAssertions(asserts, summary, groups);
  const report: Report = { run, summary, assertions };
  if (groups) report.groups = groups;
  if (emitState) {
    const lm = run.lm ? { per_sequence: run.lm.perSequence, bytes: run.lm.bytes, sequences } : null;
    report.state = shardState(
      stats,
      optionsJson(run.options),
      run.classNames,
      groupStats,
      lm,
      run.range ?? null,
    );
  }
  await printer.end(report);
  await out.end();
  const failed = assertions?.filter((a) => !a.passed) ?? [];
  return { outcome: failed.length > 0 ? "assertion-failed" : "ok", failed };
}
