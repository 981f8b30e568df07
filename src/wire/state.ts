import type { LossOptions } from "../core/types.js";
import { XentError } from "../errors.js";
import { compareGroups, GroupStats } from "../metrics/groups.js";
import { mergeState, Stats, type StatsState, statsToState } from "../metrics/stats.js";
import type { WorstRow } from "../metrics/worst.js";
import type { InputInfo } from "../readers/types.js";
import type { OptionsJson } from "./options.js";

/**
 * The `state` of `xent eval --emit-state --json`: the exact partial sums behind every reduced
 * number, and what they depend on. `xent merge` adds any number of them up.
 */
export interface ShardState {
  version: 1;
  classes: number;
  /** The loss options, as the document's `options` (merge refuses to mix different ones). */
  options: OptionsJson;
  class_names: readonly string[] | null;
  per_class: boolean;
  worst: number;
  stats: EncodedStats;
  /** `--group-by`: the column, and every group's sums in the order of the group values. */
  group_by?: string;
  groups?: { group: string; stats: EncodedStats }[];
  /**
   * Language-model runs: `--per-sequence` (the groups are sequence numbers, renumbered by merge as
   * if the shards' sequences were one file's), the `--bytes` of this shard (summed by merge), and
   * how many sequences the shard holds (empty ones too).
   */
  lm?: LanguageModelState;
  /**
   * `--rows` / `--shard`: the rows this state sums, [start, end) of the whole file's `total` (null
   * when unknown). Row numbers (worst rows, sequences) are the whole file's already; merge checks
   * that such shards tile the rows, with no row twice and, when `total` is known, none missing.
   */
  range?: { start: number; end: number; total: number | null };
}

export interface LanguageModelState {
  per_sequence: boolean;
  bytes: number | null;
  sequences: number;
}

/** A number JSON can hold: non-finite ones (a worst row's infinite loss) travel as strings. */
type JsonNumber = number | string;
type EncodedWorst = Omit<WorstRow, "loss" | "nll" | "pTarget"> & {
  loss: JsonNumber;
  nll: JsonNumber;
  pTarget: JsonNumber;
};
/** StatsState as JSON carries it. */
export type EncodedStats = Omit<StatsState, "worst"> & { worst: EncodedWorst[] };

const encodeNumber = (x: number): JsonNumber => (Number.isFinite(x) ? x : String(x));
const decodeNumber = (x: JsonNumber): number => (typeof x === "string" ? Number(x) : x);

export function encodeStats(stats: Stats): EncodedStats {
  const s = statsToState(stats);
  // A worst row's position is its shard's; merged, only the index is shifted to the whole.
  const worst = s.worst.map(({ pos: _, ...w }) => ({
    ...w,
    loss: encodeNumber(w.loss),
    nll: encodeNumber(w.nll),
    pTarget: encodeNumber(w.pTarget),
  }));
  return { ...s, worst };
}

export function shardState(
  stats: Stats,
  options: OptionsJson,
  classNames: readonly string[] | null,
  groups: GroupStats | null = null,
  lm: LanguageModelState | null = null,
  range: ShardState["range"] | null = null,
): ShardState {
  const state: ShardState = {
    version: 1,
    classes: stats.classes,
    options,
    class_names: classNames,
    per_class: stats.perClass !== null,
    worst: stats.worst.k,
    stats: encodeStats(stats),
  };
  if (groups) {
    state.group_by = groups.column;
    state.groups = [...groups.groups.keys()]
      .sort(compareGroups)
      .map((group) => ({ group, stats: encodeStats(groups.groups.get(group)!) }));
  }
  if (lm) state.lm = lm;
  if (range) state.range = range;
  return state;
}

/** What `xent merge` needs of one `--emit-state` document. */
export interface ShardDocument {
  path: string;
  inputs: { predictions: InputInfo; targets: InputInfo };
  state: ShardState;
}

/**
 * What makes two states unmergeable, as the first difference in words for each side
 * (`["--smoothing 0.1", "--smoothing 0"]`), or null when they merge.
 */
export function stateDifference(first: ShardState, s: ShardState): [string, string] | null {
  const text = (v: unknown) => JSON.stringify(v ?? null);
  if (s.classes !== first.classes) return [`${first.classes} classes`, `${s.classes} classes`];
  const perClass = (on: boolean) => (on ? "--per-class" : "no --per-class");
  if (s.per_class !== first.per_class) return [perClass(first.per_class), perClass(s.per_class)];
  if (s.worst !== first.worst) return [`--worst ${first.worst}`, `--worst ${s.worst}`];
  const grouped = (by: string | undefined) => (by === undefined ? "no --group-by" : `--group-by ${by}`);
  if (s.group_by !== first.group_by) return [grouped(first.group_by), grouped(s.group_by)];
  const lm = (l: LanguageModelState | undefined) =>
    l === undefined
      ? "no language-model options"
      : [l.per_sequence ? "--per-sequence" : "", l.bytes === null ? "no --bytes" : "--bytes"]
          .join(" ")
          .trim();
  if (lm(s.lm) !== lm(first.lm)) return [lm(first.lm), lm(s.lm)];
  const a = new Map<string, unknown>(Object.entries(first.options));
  const b = new Map<string, unknown>(Object.entries(s.options));
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const flag = `--${key.replace(/_/g, "-")}`;
    if (text(a.get(key)) !== text(b.get(key)))
      return [`${flag} ${text(a.get(key))}`, `${flag} ${text(b.get(key))}`];
  }
  return null;
}

/**
 * Shards of one file's rows (`--rows`, `--shard`) must tile them: the merged range, or null when
 * no shard has one (then every shard is a file of its own, concatenated in the order given).
 */
function checkTiling(shards: readonly ShardDocument[]): ShardState["range"] | null {
  const ranged = shards.filter((d) => d.state.range !== undefined);
  if (ranged.length === 0) return null;
  if (ranged.length < shards.length) {
    const plain = shards.find((d) => d.state.range === undefined)!;
    throw new XentError(
      "usage",
      `${plain.path} holds a whole file, ${ranged[0]!.path} rows of one (--rows/--shard): only shards of one kind merge`,
    );
  }
  const sorted = [...ranged].sort((a, b) => a.state.range!.start - b.state.range!.start);
  const total = sorted[0]!.state.range!.total;
  let end = 0;
  for (const d of sorted) {
    const r = d.state.range!;
    if (r.total !== total)
      throw new XentError(
        "usage",
        `${d.path} is a shard of ${r.total} rows, ${sorted[0]!.path} of ${total}: not the same file`,
      );
    if (r.start < end)
      throw new XentError(
        "usage",
        `rows ${r.start} to ${Math.min(end, r.end)} are in two shards (${d.path} and one before it)`,
      );
    if (r.start > end && total !== null)
      throw new XentError(
        "usage",
        `rows ${end} to ${r.start} of ${total} are in no shard: a shard is missing`,
      );
    end = r.end;
  }
  const start = sorted[0]!.state.range!.start;
  if (total !== null && (start > 0 || end < total))
    throw new XentError(
      "usage",
      `the shards hold rows ${start} to ${end} of ${total}: ${start > 0 ? `rows 0 to ${start}` : `rows ${end} to ${total}`} are in no shard (a shard is missing)`,
    );
  return { start, end, total };
}

/**
 * Merges shards in the order given, as if their inputs had been concatenated: row indices of the
 * worst rows are shifted by the rows of the shards before. Sums are exact, so the result is the
 * one evaluation over the concatenated inputs would give, bit for bit.
 */
export function mergeShards(
  shards: readonly ShardDocument[],
  loss: LossOptions,
): {
  stats: Stats;
  groups: GroupStats | null;
  lm: LanguageModelState | null;
  range: ShardState["range"] | null;
} {
  const range = checkTiling(shards);
  // Ranged shards number their rows as the whole file does: merged in row order, nothing shifted.
  if (range) shards = [...shards].sort((a, b) => a.state.range!.start - b.state.range!.start);
  const first = shards[0]!.state;
  const stats = new Stats(first.classes, loss, { perClass: first.per_class, worst: first.worst });
  const groups = first.group_by === undefined ? null : new GroupStats(first.classes, loss, first.group_by);
  let offset = 0;
  let sequences = 0;
  for (const shard of shards) {
    const s = shard.state;
    const differs = stateDifference(first, s);
    if (differs !== null) {
      throw new XentError(
        "usage",
        `${shard.path} was evaluated with ${differs[1]}, ${shards[0]!.path} with ${differs[0]}; only states of one evaluation merge`,
      );
    }
    const encoded = s.stats;
    const worst = encoded.worst.map((w) => ({
      ...w,
      index: w.index + (range ? 0 : offset),
      loss: decodeNumber(w.loss),
      nll: decodeNumber(w.nll),
      pTarget: decodeNumber(w.pTarget),
    }));
    mergeState(stats, { ...encoded, worst });
    offset += encoded.rows;
    for (const g of s.groups ?? []) {
      const part = new Stats(first.classes, loss, { perClass: false, worst: 0, wasm: false });
      mergeState(part, { ...g.stats, worst: [] });
      const one = new GroupStats(first.classes, loss, first.group_by!);
      // A shard's sequence s is sequence s + (the sequences before it) of the whole.
      one.groups.set(s.lm?.per_sequence && !range ? String(Number(g.group) + sequences) : g.group, part);
      groups!.merge(one);
    }
    sequences += s.lm?.sequences ?? 0;
  }
  const lm: LanguageModelState | null = first.lm
    ? {
        per_sequence: first.lm.per_sequence,
        bytes: first.lm.bytes === null ? null : shards.reduce((n, d) => n + d.state.lm!.bytes!, 0),
        sequences,
      }
    : null;
  return { stats, groups, lm, range };
}
