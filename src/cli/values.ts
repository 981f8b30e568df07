import { readFileSync } from "node:fs";
import { TASKS, type Task } from "../core/types.js";
import { usage } from "../errors.js";
import { parseNumber } from "../readers/parseNumber.js";

/** Value parsers shared by the commands: each turns a flag's text into a value or a usage error. */

export type Comparison = "<" | "<=" | ">" | ">=";

export interface AssertSpec {
  expr: string;
  metric: string;
  op: Comparison;
  threshold: number;
}

export const INPUT_FORMATS = ["npy", "npz", "safetensors", "csv", "tsv", "arrow", "arrows", "parquet"];

/** The metric names `--assert` takes for a task, given the `--top-k` list. */
export function metricNames(task: Task, topK: readonly number[]): string[] {
  if (task === "binary")
    return ["loss", "nll", "accuracy", "precision", "recall", "f1", "brier", "ece", "tp", "fp", "tn", "fn"];
  if (task === "multilabel")
    return [
      "loss",
      "nll",
      "hamming_accuracy",
      "exact_match",
      "micro_precision",
      "micro_recall",
      "micro_f1",
      "macro_f1",
      "brier",
    ];
  return [
    "loss",
    "nll",
    "perplexity",
    "accuracy",
    ...topK.map((k) => `top${k}_accuracy`),
    "entropy",
    "brier",
    "ece",
  ];
}

/**
 * Once the task is known (binary is detected from the predictions): every `--assert` names one of
 * its metrics.
 */
/** Prefixes of assertions over `--group-by`'s groups: the largest, the smallest, their difference. */
export const GROUP_ASSERTS = ["max_group", "min_group", "group_gap"];

export function checkAssertMetrics(
  asserts: readonly AssertSpec[],
  task: Task,
  topK: readonly number[],
  grouped = false,
  /** Metrics this run adds (language-model runs: bits_per_token, …). */
  extra: readonly string[] = [],
): void {
  const names = [...metricNames(task, topK), ...extra];
  for (const a of asserts) {
    const dot = a.metric.indexOf(".");
    if (dot >= 0) {
      const over = a.metric.slice(0, dot);
      const metric = a.metric.slice(dot + 1);
      if (!GROUP_ASSERTS.includes(over))
        throw usage(
          `--assert '${a.expr}': '${over}.' is not a prefix xent knows; known: ${GROUP_ASSERTS.map((p) => `${p}.`).join(", ")}`,
        );
      if (!grouped) throw usage(`--assert '${a.expr}': ${over}.${metric} needs --group-by`);
      if (!names.includes(metric))
        throw usage(
          `--assert '${a.expr}': unknown metric '${metric}' for --task ${task}; known: ${names.join(", ")}`,
        );
      continue;
    }
    if (names.includes(a.metric)) continue;
    const elsewhere = TASKS.filter((t) => t !== task && metricNames(t, topK).includes(a.metric));
    const hint = elsewhere.length > 0 ? ` (it is one of --task ${elsewhere.join(" and ")})` : "";
    throw usage(
      `--assert '${a.expr}': unknown metric '${a.metric}' for --task ${task}${hint}; known: ${names.join(", ")}`,
    );
  }
}

export function number(flag: string, text: string, check: (x: number) => boolean, what: string): number {
  const x = parseNumber(text);
  if (x === undefined || !check(x)) throw usage(`${flag} ${text}: expected ${what}`);
  return x;
}

export const integer = (flag: string, text: string, min: number) =>
  number(
    flag,
    text,
    (x) => Number.isSafeInteger(x) && x >= min,
    min === 0 ? "a whole number ≥ 0" : `a whole number ≥ ${min}`,
  );

/** `--class-axis K`: any whole number (negative counts from the end), or undefined. */
export const classAxis = (text: string | undefined) =>
  text === undefined ? undefined : number("--class-axis", text, Number.isSafeInteger, "a whole number");

/** Whether an assertion holds for a value (NaN, a metric over nothing, never does). */
export function holds(spec: AssertSpec, value: number): boolean {
  const t = spec.threshold;
  return spec.op === "<"
    ? value < t
    : spec.op === "<="
      ? value <= t
      : spec.op === ">"
        ? value > t
        : value >= t;
}

export function parseAssert(expr: string): AssertSpec {
  const m = /^\s*([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+){0,2})\s*(<=|>=|<|>)\s*(\S+)\s*$/.exec(expr);
  const threshold = m ? parseNumber(m[3]!) : undefined;
  if (!m || threshold === undefined || Number.isNaN(threshold)) {
    throw usage(`--assert '${expr}': expected METRIC OP NUMBER, e.g. 'loss<=0.5' (OP is <, <=, > or >=)`);
  }
  // Which metrics exist depends on the task, known once the predictions are open (checkAssertMetrics).
  return { expr: expr.replace(/\s+/g, ""), metric: m[1]!, op: m[2] as Comparison, threshold };
}

/** The version in package.json, which sits two folders above dist/cli/ and src/cli/. */
export function version(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
    ).version;
  } catch {
    return "unknown";
  }
}
