import { readFileSync } from "node:fs";
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

export const INPUT_FORMATS = ["npy", "npz", "csv", "tsv", "arrow", "arrows"];

/** The metric names `--assert` takes, given the `--top-k` list. */
export function metricNames(topK: readonly number[]): string[] {
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

export function parseAssert(expr: string, topK: readonly number[]): AssertSpec {
  const m = /^\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>)\s*(\S+)\s*$/.exec(expr);
  const threshold = m ? parseNumber(m[3]!) : undefined;
  if (!m || threshold === undefined || Number.isNaN(threshold)) {
    throw usage(`--assert '${expr}': expected METRIC OP NUMBER, e.g. 'loss<=0.5' (OP is <, <=, > or >=)`);
  }
  const names = metricNames(topK);
  if (!names.includes(m[1]!))
    throw usage(`--assert '${expr}': unknown metric '${m[1]}'; known: ${names.join(", ")}`);
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
