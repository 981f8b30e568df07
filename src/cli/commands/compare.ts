import type { Command } from "commander";
import { type Comparison, compare, type Delta, type GroupDelta, verdict } from "../../compare.js";
import type { LossOptions } from "../../core/types.js";
import { usage, XentError } from "../../errors.js";
import { type LanguageModelRun, languageModelMetricNames } from "../../lm/metrics.js";
import type { Summary } from "../../metrics/stats.js";
import { formatNumber } from "../../output/formatNumber.js";
import { cell, markdownAssertions, markdownHeading, markdownTable } from "../../output/markdown.js";
import { prettyJson } from "../../output/prettyJson.js";
import { makeStyle } from "../../output/style.js";
import { alignColumns, assertionLines, describeInput } from "../../output/table.js";
import type { Writer } from "../../output/writer.js";
import type { InputInfo } from "../../readers/types.js";
import { type CompareState, compareState } from "../../wire/compareState.js";
import type { Assertion } from "../../wire/eval.js";
import { optionsJson } from "../../wire/options.js";
import { planBlocks } from "../blocks.js";
import type { Outcome } from "../finish.js";
import { type EvalArgs, type EvalPlan, planEval, predictionsInfo } from "../plan.js";
import { type AssertSpec, holds, integer, metricNames, number } from "../values.js";
import { addEvalOptions, evalArgs, quietIO, type RunIO } from "./eval.js";

/** `xent compare`: usage and options, and the run. */

export interface CompareArgs {
  /** Each side's eval arguments (without assertions: compare has its own). */
  baseline: EvalArgs;
  candidate: EvalArgs;
  asserts: AssertSpec[];
  resamples: number;
  confidence: number;
  seed: number;
  /** `--first-row`: this shard's first row in the whole (0: the whole file). */
  firstRow: number;
}

export const COMPARE_SCHEMA = "xent.compare/1";

const COMPARE_EXAMPLES = `
Examples:
  xent compare base.npy cand.npy labels.csv
  xent compare base.npy cand.npy labels.csv --assert 'delta.loss.high<=0.01' --format markdown`;

export function defineCompare(program: Command, onArgs: (args: CompareArgs) => void): void {
  const cmd = program
    .command("compare")
    .description(
      "compare a candidate's predictions with a baseline's on the same rows: deltas with paired bootstrap intervals",
    )
    .argument("<baseline>", "the baseline's predictions (any format eval reads)")
    .argument("<candidate>", "the candidate's predictions, the same rows in the same order")
    .argument("[targets]", "targets for both (else each file's target column or NPZ array)");
  addEvalOptions(cmd)
    .optionsGroup("Comparison:")
    .option("--resamples <n>", "paired bootstrap resamples", "1000")
    .option("--confidence <level>", "interval level, between 0 and 1", "0.95")
    .option("--seed <n>", "the bootstrap's seed (the same seed, the same intervals, on any machine)", "0")
    .option(
      "--first-row <n>",
      "with --emit-state: this shard's first row in the whole, so that shards merge bit for bit",
      "0",
    )
    .addHelpText("after", COMPARE_EXAMPLES)
    .action(
      (baseline: string, candidate: string, targets: string | undefined, o: Record<string, unknown>) => {
        const base = evalArgs(baseline, targets, o);
        if ([baseline, candidate, targets].includes("-"))
          throw usage(
            "xent compare reads each input twice or side by side: standard input (-) cannot be one",
          );
        if (base.perSample || base.format === "csv" || base.format === "ndjson")
          throw usage(
            "xent compare prints a summary: --format table, json or markdown, without --per-sample",
          );
        if (base.emitState && (base.groupBy !== undefined || base.groupsFile !== undefined))
          throw usage("xent compare --emit-state does not carry per-group sums yet");
        if (base.emitState && (base.shiftLabels || base.perSequence || base.bytes !== undefined))
          throw usage(
            "xent compare --emit-state does not carry language-model runs yet (--shift-labels, --per-sequence, --bytes)",
          );
        const resamples = integer("--resamples", o.resamples as string, 1);
        if (resamples > 100_000) throw usage("--resamples: at most 100000");
        const sides = { ...base, asserts: [] };
        onArgs({
          baseline: sides,
          // The groups are the baseline's rows' (its table, its targets, or --groups FILE).
          candidate: {
            ...sides,
            predictions: candidate,
            groupBy: undefined,
            groupsFile: undefined,
            perSequence: false,
          },
          asserts: base.asserts,
          resamples,
          confidence: number(
            "--confidence",
            o.confidence as string,
            (x) => x > 0 && x < 1,
            "a number between 0 and 1",
          ),
          seed: integer("--seed", o.seed as string, 0),
          firstRow: integer("--first-row", o.firstRow as string, 0),
        });
      },
    );
}

/** `delta.M` (the difference), `delta.M.low|high|p_value`, or a plain metric (the candidate's). */
function assertedValue(metric: string, c: Comparison): number {
  const parts = metric.split(".");
  if (parts[0] !== "delta") {
    return metric === "loss" ? c.candidate.loss : (c.candidate.metrics[metric] ?? Number.NaN);
  }
  const d = c.delta[parts[1]!];
  if (!d) return Number.NaN;
  const field = (parts[2] ?? "value") as "value" | "low" | "high" | "p_value";
  return d[field] ?? Number.NaN;
}

export function checkCompareAsserts(
  asserts: readonly AssertSpec[],
  task: EvalPlan["loss"]["task"],
  topK: readonly number[],
  lm?: LanguageModelRun,
): void {
  const names = [...metricNames(task, topK), ...languageModelMetricNames(lm)];
  for (const a of asserts) {
    const parts = a.metric.split(".");
    const ok =
      (parts.length === 1 && names.includes(parts[0]!)) ||
      (parts[0] === "delta" &&
        names.includes(parts[1] ?? "") &&
        (parts.length === 2 || ["low", "high", "p_value", "value"].includes(parts[2]!)));
    if (!ok)
      throw usage(
        `--assert '${a.expr}': compare asserts on delta.METRIC, delta.METRIC.low|high|p_value, or the candidate's METRIC; METRIC one of ${names.join(", ")}`,
      );
  }
}

export async function runCompare(args: CompareArgs, out: Writer, io: RunIO = quietIO()): Promise<Outcome> {
  const base = await planEval(args.baseline, io.settings);
  let cand: EvalPlan;
  try {
    cand = await planEval(args.candidate, io.settings);
  } catch (e) {
    await dispose(base);
    throw e;
  }
  try {
    if (cand.predictions.classes !== base.predictions.classes || cand.loss.task !== base.loss.task)
      throw new XentError(
        "shape",
        `${cand.predictions.classes} classes (${cand.loss.task}) where the baseline has ${base.predictions.classes} (${base.loss.task})`,
        { file: cand.predictions.info.path },
      );
    checkCompareAsserts(args.asserts, base.loss.task, base.loss.topK, base.run.lm);
    // --rows / --shard number the rows as the whole file does: the bootstrap's first row is theirs.
    if (base.range && args.firstRow !== 0 && args.firstRow !== base.range.start)
      throw usage(`--first-row ${args.firstRow}: --rows/--shard start at row ${base.range.start}`);
    const firstRow = base.range ? base.range.start : args.firstRow;
    const { comparison, parts } = await compare(
      planBlocks(base, args.baseline).blocks,
      planBlocks(cand, args.candidate).blocks,
      {
        lm: base.run.lm,
        groupBy: base.run.display.groupBy,
        classes: base.predictions.classes,
        loss: base.loss,
        perClass: args.baseline.perClass,
        resamples: args.resamples,
        confidence: args.confidence,
        seed: args.seed,
        firstRow,
        classNames: base.classNames,
        files: { baseline: base.predictions.info.path, candidate: cand.predictions.info.path },
      },
    );
    const run: CompareRun = {
      inputs: {
        baseline: predictionsInfo(base, parts.rows),
        candidate: predictionsInfo(cand, parts.rows),
        targets: base.run.inputs.targets,
      },
      loss: base.loss,
      resamples: args.resamples,
      confidence: args.confidence,
      seed: args.seed,
      groupBy: base.run.display.groupBy,
      topGroups: args.baseline.topGroups,
    };
    const state = args.baseline.emitState
      ? compareState(parts, optionsJson(base.loss), base.classNames, { ...args, firstRow })
      : undefined;
    return await printComparison(
      run,
      comparison,
      args.asserts,
      args.baseline.format,
      out,
      io.settings.colour,
      state,
    );
  } finally {
    await Promise.allSettled([dispose(base), dispose(cand)]);
  }
}

/** What the printers say of a comparison besides its numbers (a run's, or merged shards'). */
export interface CompareRun {
  inputs: { baseline: InputInfo; candidate: InputInfo; targets: InputInfo };
  loss: LossOptions;
  resamples: number;
  confidence: number;
  seed: number;
  groupBy?: string | undefined;
  topGroups: number;
}

/** Assertions checked, the comparison printed in `format`, the outcome for main.ts. */
export async function printComparison(
  run: CompareRun,
  c: Comparison,
  asserts: readonly AssertSpec[],
  format: string,
  out: Writer,
  colour: 0 | 1 | 2 | 3,
  state?: CompareState,
): Promise<Outcome> {
  const assertions: Assertion[] | null =
    asserts.length === 0
      ? null
      : asserts.map((spec) => {
          const value = assertedValue(spec.metric, c);
          return { expr: spec.expr, value, passed: holds(spec, value) };
        });
  if (format === "json") await out.write(`${prettyJson(compareJson(run, c, assertions, state))}\n`);
  else if (format === "markdown") await out.write(compareMarkdown(run, c, assertions));
  else await out.write(await compareTable(run, c, assertions, colour));
  await out.end();
  return assertions?.some((a) => !a.passed) ? "assertion-failed" : "ok";
}

async function dispose(plan: EvalPlan): Promise<void> {
  await Promise.allSettled([
    plan.predictions[Symbol.asyncDispose](),
    plan.targets?.[Symbol.asyncDispose](),
    plan.groups?.[Symbol.asyncDispose](),
  ]);
}

const side = (s: Summary) => ({
  counts: s.counts,
  loss: s.loss,
  metrics: s.metrics,
  ...(s.perClass ? { per_class: s.perClass } : {}),
});

function compareJson(run: CompareRun, c: Comparison, assertions: Assertion[] | null, state?: CompareState) {
  const doc: Record<string, unknown> = {
    schema: COMPARE_SCHEMA,
    inputs: {
      baseline: run.inputs.baseline,
      candidate: run.inputs.candidate,
      targets: run.inputs.targets,
    },
    options: optionsJson(run.loss),
    bootstrap: { resamples: run.resamples, confidence: run.confidence, seed: run.seed },
    baseline: side(c.baseline),
    candidate: side(c.candidate),
    delta: c.delta,
  };
  if (c.groups) doc.per_group = c.groups;
  if (assertions) doc.assertions = assertions;
  if (state) doc.state = state;
  return doc;
}

const interval = (d: Delta) =>
  d.low === null || d.high === null ? "" : `[${formatNumber(d.low)}, ${formatNumber(d.high)}]`;

function rows(c: Comparison): string[][] {
  return ["loss", ...Object.keys(c.candidate.metrics)].map((name) => {
    const d = c.delta[name]!;
    const b = name === "loss" ? c.baseline.loss : c.baseline.metrics[name]!;
    const v = name === "loss" ? c.candidate.loss : c.candidate.metrics[name]!;
    const p = d.mcnemar ? d.mcnemar.p_value : d.p_value;
    return [
      name,
      formatNumber(b),
      formatNumber(v),
      formatNumber(d.value),
      interval(d),
      p === null ? "" : formatNumber(p, 2),
      verdict(name, d),
    ];
  });
}

/** Groups by their loss delta, largest first (the worst regressions), `--top-groups` of them. */
function shownGroups(run: CompareRun, c: Comparison) {
  const all = c.groups ?? [];
  const key = (g: GroupDelta) => g.delta?.loss?.value ?? Number.NEGATIVE_INFINITY;
  const sorted = [...all].sort((a, b) => key(b) - key(a));
  const limit = run.topGroups;
  return limit === 0 ? sorted : sorted.slice(0, limit);
}

function groupsTitle(run: CompareRun, c: Comparison): string {
  const shown = shownGroups(run, c).length;
  const all = c.groups?.length ?? 0;
  return `per ${run.groupBy ?? "group"}, by loss delta, largest first${shown < all ? ` (${shown} of ${all})` : ""}`;
}

function groupRows(run: CompareRun, c: Comparison): string[][] {
  const rows = [["group", "count", "baseline loss", "candidate loss", "delta", "interval", ""]];
  for (const g of shownGroups(run, c)) {
    const d = g.delta?.loss;
    rows.push([
      g.group,
      String(g.count),
      formatNumber(g.baseline.loss ?? Number.NaN),
      formatNumber(g.candidate.loss ?? Number.NaN),
      d ? formatNumber(d.value) : "",
      d ? interval(d) : "",
      d ? verdict("loss", d) : "",
    ]);
  }
  return rows;
}

async function compareTable(
  run: CompareRun,
  c: Comparison,
  assertions: Assertion[] | null,
  colour: 0 | 1 | 2 | 3,
): Promise<string> {
  const s = await makeStyle(colour);
  const k = c.candidate.counts;
  const level = `${formatNumber(run.confidence * 100)}%`;
  const head = [
    ["baseline", describeInput(run.inputs.baseline)],
    ["candidate", describeInput(run.inputs.candidate)],
    ["targets", describeInput(run.inputs.targets)],
    ["rows", `${k.rows}  (${k.used} used) · ${run.resamples} paired resamples, seed ${run.seed}`],
  ].map(([key, v]) => `${s.dim(key!.padEnd(10))} ${v}`);
  const table = [["metric", "baseline", "candidate", "delta", `${level} interval`, "p", ""], ...rows(c)];
  const out = ["", ...head, "", alignColumns(table, [false, true, true, true, false, true, false], s)];
  if (c.groups)
    out.push(
      "",
      s.heading(groupsTitle(run, c)),
      alignColumns(groupRows(run, c), [false, true, true, true, true, false, false], s),
    );
  const acc = c.delta.accuracy?.mcnemar;
  if (acc)
    out.push(
      "",
      s.dim(
        `accuracy: McNemar's exact test on ${acc.baseline_only + acc.candidate_only} discordant rows (${acc.baseline_only} right only in the baseline, ${acc.candidate_only} only in the candidate): p = ${formatNumber(acc.p_value, 3)}`,
      ),
    );
  if (assertions) out.push("", ...assertionLines(assertions, s));
  return `${out.join("\n")}\n`;
}

function compareMarkdown(run: CompareRun, c: Comparison, assertions: Assertion[] | null): string {
  const k = c.candidate.counts;
  const level = `${formatNumber(run.confidence * 100)}%`;
  const parts = [
    markdownHeading("compare", assertions),
    `\`${cell(run.inputs.candidate.path)}\` against the baseline \`${cell(run.inputs.baseline.path)}\` · ${k.rows} rows (${k.used} used) · ${run.resamples} paired resamples`,
    markdownTable(
      [["metric", "baseline", "candidate", "delta", `${level} interval`, "p", ""], ...rows(c)],
      [false, true, true, true, false, true, false],
    ),
  ];
  if (c.groups)
    parts.push(
      `<details><summary>${cell(groupsTitle(run, c))}</summary>\n\n${markdownTable(groupRows(run, c), [false, true, true, true, true, false, false])}\n\n</details>`,
    );
  if (assertions) parts.push(markdownAssertions(assertions));
  return `${parts.join("\n\n")}\n`;
}
