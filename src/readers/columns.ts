import { usage } from "../errors.js";
import { escapeText, quote } from "../quote.js";

/**
 * The one rule for what each column of a table (CSV, TSV, Arrow) is read as: class scores, the
 * target, the row id, or nothing. Pure: it sees names and whether a column can hold scores.
 */

export type ColumnRole = "scores" | "target" | "id" | "group" | "unused";

/** Names a target column is recognised by (any case): the usual ones, Hugging Face's `labels`, sklearn's `y_true`. */
export const TARGET_NAMES = ["label", "labels", "target", "y", "y_true", "class"];
/** Names an id column is recognised by (any case); a first column with an empty name is pandas' index. */
export const ID_NAMES = ["id", "sample_id"];
/**
 * Columns that hold a model's decision, not its scores: numeric, so without this rule they would
 * be read as one more class (a CSV of `logit_0..logit_9, y_pred, y_true` gave 11 classes).
 */
export const PREDICTION_NAMES = ["pred", "y_pred", "prediction", "predicted", "argmax"];

export interface TableColumn {
  /** The header name, or null in a table without a header. */
  name: string | null;
  /** Whether the column can hold scores (CSV: any column; Arrow: a float column). */
  numeric: boolean;
}

export interface ColumnRules {
  /** `--target-column NAME|INDEX` (of this table, unless `targetsElsewhere`). */
  targetColumn?: string | undefined;
  /** `--id-column NAME|INDEX`. */
  idColumn?: string | undefined;
  /**
   * `--group-by NAME|INDEX`: the column whose values split the rows into groups (never scores).
   * `groupOptional`: a table that may not have it (the other input may), no error when it does not.
   */
  groupColumn?: string | undefined;
  groupOptional?: boolean | undefined;
  /** `--score-columns SPEC`: exactly these are the scores, in this order. */
  scoreColumns?: string | undefined;
  /** `--drop-columns SPEC`: never scores, target or id. */
  dropColumns?: string | undefined;
  /**
   * The targets come from another file: `--target-column` names that file's column, and here a
   * conventionally named target column is only kept out of the scores.
   */
  targetsElsewhere: boolean;
}

export interface ColumnRoles {
  target: number | undefined;
  id: number | undefined;
  /** The score columns, in class order (empty when the caller takes scores from elsewhere, e.g. an Arrow list column). */
  scores: number[];
  /** A column named like a target that is not read (the targets come from another file). */
  shadowedTarget: number | undefined;
  /** The `--group-by` column. */
  group: number | undefined;
}

const lower = (name: string | null) => (name ?? "").trim().toLowerCase();

/** `a, b, c` for an error message: at most 12 names, each quoted and cut short. */
export function listColumns(columns: readonly TableColumn[]): string {
  const names = columns.map((c, i) => (c.name === null ? String(i) : escapeText(c.name, 40)));
  return names.length > 12
    ? `${names.slice(0, 12).join(", ")}, … (${names.length} columns)`
    : names.join(", ");
}

function noSuchColumn(flag: string, item: string, columns: readonly TableColumn[], file: string) {
  const known = columns.some((c) => c.name !== null)
    ? `; its columns are ${listColumns(columns)}`
    : ` (it has no header: give 0-based column numbers or ranges like 2:12)`;
  return usage(`${flag} ${escapeText(item, 60)}: no such column in ${file}${known}`);
}

const globToRegExp = (glob: string) =>
  new RegExp(
    `^${glob
      .split("")
      .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
  );

/**
 * The columns a SPEC names, in the order it names them: comma-separated items, each a column
 * name, a glob (`logit_*`, `p?`), a 0-based index, or a half-open index range `START:END` (either
 * end may be left out, as in Python). A name wins over an index of the same spelling (pandas
 * writes integer column names). An item that names nothing is an error, never an empty selection.
 */
export function selectColumns(
  spec: string,
  columns: readonly TableColumn[],
  flag: string,
  file: string,
): number[] {
  const out: number[] = [];
  for (const raw of spec.split(",")) {
    const item = raw.trim();
    if (item === "") throw usage(`${flag} ${quote(spec, 60)}: an empty item`);
    const byName = columns.findIndex((c) => c.name !== null && c.name.trim() === item);
    let picked: number[];
    const range = /^(\d*):(\d*)$/.exec(item);
    if (byName >= 0) picked = [byName];
    else if (/[*?]/.test(item)) {
      const re = globToRegExp(item);
      picked = columns.flatMap((c, i) => (c.name !== null && re.test(c.name.trim()) ? [i] : []));
    } else if (range) {
      const from = range[1] === "" ? 0 : Number(range[1]);
      const to = range[2] === "" ? columns.length : Number(range[2]);
      if (to > columns.length || from >= to)
        throw usage(`${flag} ${item}: not a range of columns of ${file}, which has ${columns.length}`);
      picked = Array.from({ length: to - from }, (_, k) => from + k);
    } else if (/^\d+$/.test(item) && Number(item) < columns.length) picked = [Number(item)];
    else picked = [];
    if (picked.length === 0) throw noSuchColumn(flag, item, columns, file);
    out.push(...picked);
  }
  return out;
}

/** One column by `--target-column` / `--id-column`: a name, else a 0-based index. */
export function findColumn(
  columns: readonly TableColumn[],
  spec: string | undefined,
  flag: string,
  file: string,
): number | undefined {
  if (spec === undefined) return undefined;
  const byName = columns.findIndex((c) => c.name !== null && c.name.trim() === spec.trim());
  if (byName >= 0) return byName;
  if (/^\d+$/.test(spec) && Number(spec) < columns.length) return Number(spec);
  throw noSuchColumn(flag, spec, columns, file);
}

const firstNamed = (columns: readonly TableColumn[], names: readonly string[], skip: Set<number>) => {
  const i = columns.findIndex((c, k) => !skip.has(k) && names.includes(lower(c.name)));
  return i >= 0 ? i : undefined;
};

/**
 * Assigns every column its role. Target: `--target-column`, else the first column named like a
 * target. Id: `--id-column`, else the first named like an id, else a first column with an empty
 * name (pandas' index). Scores: `--score-columns`, else every numeric column that is not the
 * target, the id, dropped, or named like a prediction. `scoresFromColumns` false: the caller
 * takes the scores from elsewhere (an Arrow list column) and only target and id are resolved.
 */
export function assignColumns(
  columns: readonly TableColumn[],
  rules: ColumnRules,
  file: string,
  scoresFromColumns = true,
): ColumnRoles {
  const dropped = new Set(
    rules.dropColumns === undefined ? [] : selectColumns(rules.dropColumns, columns, "--drop-columns", file),
  );
  const explicitTarget = rules.targetsElsewhere
    ? undefined
    : findColumn(columns, rules.targetColumn, "--target-column", file);
  const conventionalTarget = firstNamed(columns, TARGET_NAMES, dropped);
  const target = explicitTarget ?? (rules.targetsElsewhere ? undefined : conventionalTarget);
  const shadowedTarget = rules.targetsElsewhere ? conventionalTarget : undefined;
  let id = findColumn(columns, rules.idColumn, "--id-column", file);
  if (id === undefined && rules.idColumn === undefined) {
    const notTarget = new Set([...dropped, ...(target === undefined ? [] : [target])]);
    id = firstNamed(columns, ID_NAMES, notTarget);
    if (id === undefined && columns[0]?.name === "" && target !== 0 && !dropped.has(0)) id = 0;
  }
  if (id !== undefined && id === target)
    throw usage(`column ${quote(columns[id]!.name ?? String(id), 40)} cannot be both the target and the id`);
  const group =
    rules.groupColumn === undefined
      ? undefined
      : rules.groupOptional
        ? columns.findIndex((c) => c.name !== null && c.name.trim() === rules.groupColumn!.trim()) >= 0
          ? findColumn(columns, rules.groupColumn, "--group-by", file)
          : undefined
        : findColumn(columns, rules.groupColumn, "--group-by", file);
  if (group !== undefined && group === target)
    throw usage(
      `--group-by: column ${quote(columns[group]!.name ?? String(group), 40)} is the target column`,
    );
  const taken = (i: number) => i === target || i === id || i === shadowedTarget || i === group;
  let scores: number[] = [];
  if (rules.scoreColumns !== undefined) {
    scores = selectColumns(rules.scoreColumns, columns, "--score-columns", file);
    const seen = new Set<number>();
    for (const i of scores) {
      const name = quote(columns[i]!.name ?? String(i), 40);
      if (seen.has(i)) throw usage(`--score-columns: column ${name} is selected twice`);
      seen.add(i);
      if (taken(i))
        throw usage(`--score-columns: column ${name} is the ${i === id ? "id" : "target"} column`);
      if (!columns[i]!.numeric) throw usage(`--score-columns: column ${name} does not hold numbers`);
    }
    if (!scoresFromColumns) throw usage("--score-columns: the scores come from a list column here");
  } else if (scoresFromColumns) {
    scores = columns.flatMap((c, i) =>
      c.numeric && !taken(i) && !dropped.has(i) && !PREDICTION_NAMES.includes(lower(c.name)) ? [i] : [],
    );
  }
  return { target, id, scores, shadowedTarget, group };
}

/** The role of each column, for `xent inspect`. */
export function columnRoles(
  count: number,
  roles: ColumnRoles,
  targetRead: boolean,
  extraScores: readonly number[] = [],
): ColumnRole[] {
  const scores = new Set([...roles.scores, ...extraScores]);
  return Array.from({ length: count }, (_, i) =>
    scores.has(i)
      ? "scores"
      : i === roles.id
        ? "id"
        : i === roles.target && targetRead
          ? "target"
          : i === roles.group
            ? "group"
            : "unused",
  );
}
