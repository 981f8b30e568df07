import type { CompareParts } from "../compare.js";
import type { LossOptions } from "../core/types.js";
import { XentError } from "../errors.js";
import { BOOT_SUMS, type BootSum, PairedBootstrap } from "../metrics/bootstrap.js";
import { mergeState, Stats } from "../metrics/stats.js";
import { checkState } from "./checkState.js";
import type { OptionsJson } from "./options.js";
import { type EncodedStats, encodeStats, type ShardState } from "./state.js";

/**
 * The `state` of `xent compare --emit-state --json`: both sides' exact sums, the bootstrap's
 * replicate totals (integers, as decimal strings: they pass 2^53), McNemar's discordant counts,
 * and where the shard's rows lie in the whole (`first_row`): shards merge to the whole file's
 * comparison bit for bit when they tile it.
 */
export interface CompareState {
  version: 1;
  kind: "compare";
  classes: number;
  options: OptionsJson;
  class_names: readonly string[] | null;
  per_class: boolean;
  first_row: number;
  rows: number;
  bootstrap: { resamples: number; confidence: number; seed: number };
  baseline: EncodedStats;
  candidate: EncodedStats;
  replicates: Record<BootSum, string[]>;
  mcnemar: { baseline_only: number; candidate_only: number };
}

export function compareState(
  parts: CompareParts,
  options: OptionsJson,
  classNames: readonly string[] | null,
  run: { firstRow: number; resamples: number; confidence: number; seed: number },
): CompareState {
  parts.boot.flush();
  return {
    version: 1,
    kind: "compare",
    classes: parts.base.classes,
    options,
    class_names: classNames,
    per_class: parts.base.perClass !== null,
    first_row: run.firstRow,
    rows: parts.rows,
    bootstrap: { resamples: run.resamples, confidence: run.confidence, seed: run.seed },
    baseline: encodeStats(parts.base),
    candidate: encodeStats(parts.cand),
    replicates: Object.fromEntries(BOOT_SUMS.map((k) => [k, parts.boot.totals[k].map(String)])) as Record<
      BootSum,
      string[]
    >,
    mcnemar: { baseline_only: parts.onlyBase, candidate_only: parts.onlyCand },
  };
}

/** Checks a compare state field by field, each side as an eval state is checked. */
export function checkCompareState(state: unknown, file: string): CompareState {
  const fail = (what: string) => new XentError("format", `invalid xent compare state: ${what}`, { file });
  if (typeof state !== "object" || state === null) throw fail("state is not an object");
  const s = state as Record<string, unknown>;
  if (s.version !== 1 || s.kind !== "compare") throw fail("not a version 1 compare state");
  for (const side of ["baseline", "candidate"] as const) {
    const shard = {
      version: 1,
      classes: s.classes,
      options: s.options,
      class_names: s.class_names,
      per_class: s.per_class,
      worst: 0,
      stats: s[side],
    };
    checkState(shard, file);
  }
  const b = s.bootstrap as Record<string, unknown> | null;
  const whole = (v: unknown, max = Number.MAX_SAFE_INTEGER) =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= max;
  if (typeof b !== "object" || b === null || !whole(b.resamples, 100_000) || (b.resamples as number) < 1)
    throw fail("bootstrap.resamples is not a whole number from 1 to 100000");
  if (typeof b.confidence !== "number" || !(b.confidence > 0 && b.confidence < 1))
    throw fail("bootstrap.confidence is not between 0 and 1");
  if (!whole(b.seed, 2 ** 32)) throw fail("bootstrap.seed is not a whole number");
  if (!whole(s.first_row)) throw fail("first_row is not a whole number");
  const rows = (s.baseline as { rows: number }).rows;
  if (s.rows !== rows || (s.candidate as { rows: number }).rows !== rows)
    throw fail("rows differ between the state and its sides");
  const reps = s.replicates as Record<string, unknown> | null;
  if (typeof reps !== "object" || reps === null) throw fail("replicates is not an object");
  for (const k of BOOT_SUMS) {
    const list = reps[k];
    if (!Array.isArray(list) || list.length !== b.resamples)
      throw fail(`replicates.${k} does not hold ${b.resamples} entries`);
    if (list.some((x) => typeof x !== "string" || !/^-?\d{1,40}$/.test(x)))
      throw fail(`replicates.${k} holds something other than whole numbers`);
  }
  const m = s.mcnemar as Record<string, unknown> | null;
  const used = (s.baseline as { used: number }).used;
  if (typeof m !== "object" || m === null || !whole(m.baseline_only, used) || !whole(m.candidate_only, used))
    throw fail("mcnemar counts are not whole numbers up to the used rows");
  return state as CompareState;
}

/** What makes two compare states unmergeable, in words for each side, or null. */
function difference(a: CompareState, b: CompareState): [string, string] | null {
  const text = (v: unknown) => JSON.stringify(v);
  if (a.classes !== b.classes) return [`${a.classes} classes`, `${b.classes} classes`];
  if (a.per_class !== b.per_class) return [`per_class ${a.per_class}`, `per_class ${b.per_class}`];
  for (const key of ["resamples", "confidence", "seed"] as const)
    if (a.bootstrap[key] !== b.bootstrap[key])
      return [`--${key} ${a.bootstrap[key]}`, `--${key} ${b.bootstrap[key]}`];
  if (text(a.options) !== text(b.options)) return ["its options", "other options"];
  return null;
}

/**
 * Adds up compare shards in the order given. They must tile the rows: each shard's first_row is
 * where the one before it ended (else its bootstrap weights are another file's).
 */
export function mergeCompareStates(
  shards: readonly { path: string; state: CompareState }[],
  loss: LossOptions,
) {
  const first = shards[0]!.state;
  const extras = { perClass: first.per_class, worst: 0 };
  const base = new Stats(first.classes, loss, extras);
  const cand = new Stats(first.classes, loss, extras);
  const totals = Object.fromEntries(
    BOOT_SUMS.map((k) => [k, Array.from({ length: first.bootstrap.resamples }, () => 0n)]),
  ) as Record<BootSum, bigint[]>;
  let onlyBase = 0;
  let onlyCand = 0;
  let next = first.first_row;
  for (const { path, state } of shards) {
    const differs = difference(first, state);
    if (differs)
      throw new XentError(
        "usage",
        `${path} was compared with ${differs[1]}, ${shards[0]!.path} with ${differs[0]}; only shards of one comparison merge`,
      );
    if (state.first_row !== next)
      throw new XentError(
        "usage",
        `${path} starts at row ${state.first_row}, where the shards before it end at row ${next}: give the shards in order, each with --first-row at the rows before it`,
      );
    next += state.rows;
    mergeState(base, { ...(state.baseline as ShardState["stats"]), worst: [] });
    mergeState(cand, { ...(state.candidate as ShardState["stats"]), worst: [] });
    for (const k of BOOT_SUMS) {
      const list = state.replicates[k];
      for (let r = 0; r < list.length; r++) totals[k][r]! += BigInt(list[r]!);
    }
    onlyBase += state.mcnemar.baseline_only;
    onlyCand += state.mcnemar.candidate_only;
  }
  const boot = PairedBootstrap.fromTotals(first.bootstrap.resamples, first.bootstrap.seed, totals);
  const parts: CompareParts = { base, cand, boot, onlyBase, onlyCand, rows: next - first.first_row };
  return { parts, firstRow: first.first_row };
}
