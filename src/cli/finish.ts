import { type Stats, type Summary, summarize } from "../metrics/stats.js";
import type { Printer } from "../output/printer.js";
import type { Writer } from "../output/writer.js";
import type { Assertion, Report, RunInfo } from "../wire/eval.js";
import { optionsJson } from "../wire/options.js";
import { shardState } from "../wire/state.js";
import type { AssertSpec } from "./values.js";

/** How a command ended, for main.ts to turn into an exit code. */
export type Outcome = "ok" | "assertion-failed";

/** Every `--assert` evaluated on the final numbers (null when there are none). */
export function checkAssertions(specs: readonly AssertSpec[], summary: Summary): Assertion[] | null {
  if (specs.length === 0) return null;
  return specs.map((spec) => {
    const value = spec.metric === "loss" ? summary.loss : summary.metrics[spec.metric]!;
    const t = spec.threshold;
    const passed =
      spec.op === "<" ? value < t : spec.op === "<=" ? value <= t : spec.op === ">" ? value > t : value >= t;
    return { expr: spec.expr, value, passed };
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
): Promise<{ outcome: Outcome; failed: Assertion[] }> {
  const summary = summarize(stats, run.classNames);
  const assertions = checkAssertions(asserts, summary);
  const report: Report = { run, summary, assertions };
  if (emitState) report.state = shardState(stats, optionsJson(run.options), run.classNames);
  await printer.end(report);
  await out.end();
  const failed = assertions?.filter((a) => !a.passed) ?? [];
  return { outcome: failed.length > 0 ? "assertion-failed" : "ok", failed };
}
