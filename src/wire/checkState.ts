import { TASKS, type Task } from "../core/types.js";
import { XentError } from "../errors.js";
import { BINARY_ECE_BINS, ECE_BINS } from "../metrics/calibration.js";
import { SUMS, tableClasses } from "../metrics/stats.js";

/**
 * Checks an `--emit-state` document's `state` field by field before `xent merge` adds it up: a
 * state is input like any file, and an edited or corrupted one printed accuracy 100 (correct =
 * 100 × used) or `"rows": "064"`. Every count is a whole number ≥ 0 and consistent with the
 * others, every exact sum is well-formed partials, options have their types and ranges.
 */
export function checkState(state: unknown, file: string): void {
  const fail = (what: string) => new XentError("format", `invalid xent state: ${what}`, { file });
  const obj = (v: unknown, what: string): Record<string, unknown> => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw fail(`${what} is not an object`);
    return v as Record<string, unknown>;
  };
  const count = (v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max)
      throw fail(`${what} is not a whole number from 0 to ${max}`);
    return v;
  };
  const array = (v: unknown, what: string, length?: number): unknown[] => {
    if (!Array.isArray(v)) throw fail(`${what} is not an array`);
    if (length !== undefined && v.length !== length)
      throw fail(`${what} has ${v.length} entries, not ${length}`);
    return v;
  };
  const counts = (v: unknown, what: string, length: number, max: number) =>
    array(v, what, length).map((x, i) => count(x, `${what}[${i}]`, max));
  // An exact sum: three special-value counts, then finite partials (a double has at most ~40).
  const exactSum = (v: unknown, what: string) => {
    const a = array(v, what);
    if (a.length < 3 || a.length > 3 + 2100) throw fail(`${what} is not an exact sum`);
    a.slice(0, 3).forEach((x, i) => {
      count(x, `${what}[${i}]`);
    });
    for (const x of a.slice(3))
      if (typeof x !== "number" || !Number.isFinite(x))
        throw fail(`${what} holds a partial that is not a finite number`);
  };
  const number = (v: unknown, what: string) => {
    const x = typeof v === "string" && ["Infinity", "-Infinity", "NaN"].includes(v) ? Number(v) : v;
    if (typeof x !== "number") throw fail(`${what} is not a number`);
  };

  const s = obj(state, "state");
  if (s.version !== 1) throw fail(`version ${JSON.stringify(s.version)} (this xent reads version 1)`);
  const classes = count(s.classes, "classes", 1 << 24);
  if (classes < 1) throw fail("classes is 0");
  if (typeof s.per_class !== "boolean") throw fail("per_class is not true or false");
  if (s.per_class && classes > 1 << 18) throw fail(`per-class sums of ${classes} classes (at most 262144)`);
  const worstK = count(s.worst, "worst", 1 << 24);
  const options = obj(s.options, "options");
  const oneOf = (key: string, values: readonly unknown[]) => {
    if (!values.includes(options[key])) throw fail(`options.${key} is not one of ${values.join(", ")}`);
  };
  // States written before tasks existed are multiclass ones.
  if (options.task === undefined) options.task = "multiclass";
  oneOf("task", TASKS);
  const task = options.task as Task;
  if (task === "binary" && classes !== 1) throw fail(`a binary state of ${classes} classes`);
  // Binary's one score stands for two classes (names, per-class table).
  const named = tableClasses(task, classes);
  if (s.class_names !== null) {
    const names = array(s.class_names, "class_names", named);
    if (names.some((n) => typeof n !== "string")) throw fail("class_names holds a non-string");
  }
  if (task !== "multiclass") {
    if (typeof options.threshold !== "number" || !(options.threshold >= 0 && options.threshold <= 1))
      throw fail("options.threshold is not in [0, 1]");
    if (options.pos_weight !== null) {
      const p = array(options.pos_weight, "options.pos_weight");
      if (p.length !== 1 && p.length !== classes)
        throw fail("options.pos_weight has neither 1 nor C entries");
      if (p.some((x) => typeof x !== "number" || !(x >= 0 && Number.isFinite(x))))
        throw fail("options.pos_weight holds a weight that is not a finite number ≥ 0");
    }
  } else if (options.pos_weight !== undefined || options.threshold !== undefined)
    throw fail("options.pos_weight or threshold in a multiclass state");
  oneOf("input_type", ["logits", "probs", "log-probs"]);
  oneOf("smoothing_style", ["uniform", "others"]);
  oneOf("reduction", ["mean", "sum", "none"]);
  oneOf("on_nan", ["error", "skip"]);
  const { smoothing, temperature, ignore_index: ignoreIndex, class_weights: weights } = options;
  if (typeof smoothing !== "number" || !(smoothing >= 0 && smoothing <= 1))
    throw fail("options.smoothing is not in [0, 1]");
  if (typeof temperature !== "number" || !(temperature > 0 && Number.isFinite(temperature)))
    throw fail("options.temperature is not a number > 0");
  if (typeof ignoreIndex !== "number" || !Number.isSafeInteger(ignoreIndex))
    throw fail("options.ignore_index is not a whole number");
  if (weights !== null) {
    const w = array(weights, "options.class_weights", classes);
    if (w.some((x) => typeof x !== "number" || !(x >= 0 && Number.isFinite(x))))
      throw fail("options.class_weights holds a weight that is not a finite number ≥ 0");
  }
  const topK = array(options.top_k, "options.top_k").map((k, i) => count(k, `options.top_k[${i}]`, classes));
  /** One Stats as plain data: the run's, or a group's (no per-class sums, no worst rows). */
  const rangeStart = () =>
    typeof s.range === "object" && s.range !== null
      ? count((s.range as { start: unknown }).start, "range.start")
      : 0;
  const checkStats = (value: unknown, where: string, perClass: boolean, worstK: number) => {
    const st = obj(value, where);
    const rows = count(st.rows, `${where}.rows`);
    const used = count(st.used, `${where}.used`, rows);
    const ignored = count(st.ignored, `${where}.ignored`, rows);
    const skipped = count(st.skipped, `${where}.skipped`, rows);
    if (used + ignored + skipped !== rows)
      throw fail(`${where}.used + ignored + skipped is not ${where}.rows`);
    count(st.correct, `${where}.correct`, used);
    counts(st.topK, `${where}.topK`, topK.length, used);
    const sums = obj(st.sums, `${where}.sums`);
    for (const key of SUMS) exactSum(sums[key], `${where}.sums.${key}`);
    const ece = obj(st.ece, `${where}.ece`);
    const bins = task === "binary" ? BINARY_ECE_BINS : ECE_BINS;
    const binCounts = counts(ece.count, `${where}.ece.count`, bins, used);
    const binCorrect = counts(ece.correct, `${where}.ece.correct`, bins, used);
    if (binCounts.reduce((a, b) => a + b, 0) > used)
      throw fail(`${where}.ece.count adds up to more than stats.used`);
    if (binCorrect.some((c, b) => c > binCounts[b]!))
      throw fail(`${where}.ece.correct exceeds its bin's count`);
    array(ece.confidence, `${where}.ece.confidence`, bins).forEach((x, b) => {
      exactSum(x, `${where}.ece.confidence[${b}]`);
    });
    if (task === "binary")
      array(ece.target, `${where}.ece.target`, bins).forEach((x, b) => {
        exactSum(x, `${where}.ece.target[${b}]`);
      });
    else if (ece.target !== undefined) throw fail(`${where}.ece.target outside a binary state`);
    if (task === "multiclass") {
      if (st.labels !== undefined) throw fail(`${where}.labels in a multiclass state`);
    } else {
      const labels = obj(st.labels, `${where}.labels`);
      const width = task === "binary" ? 1 : classes;
      const positives = counts(labels.positives, `${where}.labels.positives`, width, used);
      const predicted = counts(labels.predicted, `${where}.labels.predicted`, width, used);
      const tp = counts(labels.tp, `${where}.labels.tp`, width, used);
      if (tp.some((t, j) => t > positives[j]! || t > predicted[j]!))
        throw fail(`${where}.labels.tp exceeds its label's positives or predictions`);
    }
    if (perClass !== (st.perClass !== null)) throw fail(`${where}.perClass does not match per_class`);
    if (st.perClass !== null) {
      const pc = obj(st.perClass, `${where}.perClass`);
      const n = counts(pc.count, `${where}.perClass.count`, named, used);
      const correct = counts(pc.correct, `${where}.perClass.correct`, named, used);
      const predicted = counts(pc.predicted, `${where}.perClass.predicted`, named, used);
      // Multilabel: every row counts once per label (correct = tp + tn of the label).
      if (task !== "multilabel") {
        if (correct.some((c, k) => c > n[k]!))
          throw fail(`${where}.perClass.correct exceeds its class's count`);
        if (n.reduce((a, b) => a + b, 0) > used || predicted.reduce((a, b) => a + b, 0) > used)
          throw fail(`${where}.perClass counts add up to more than stats.used`);
      }
      for (const key of ["loss", "weight", "nll"])
        array(pc[key], `${where}.perClass.${key}`, named).forEach((x, c) => {
          exactSum(x, `${where}.perClass.${key}[${c}]`);
        });
    }
    const worst = array(st.worst, `${where}.worst`);
    if (worst.length > worstK) throw fail(`${where}.worst lists ${worst.length} rows for --worst ${worstK}`);
    worst.forEach((w, i) => {
      const row = obj(w, `${where}.worst[${i}]`);
      // A shard of one file's rows (`range`) numbers them as the whole file does.
      const from = rangeStart();
      const index = count(row.index, `${where}.worst[${i}].index`, from + Math.max(0, rows - 1));
      if (index < from)
        throw fail(`${where}.worst[${i}].index ${index} is before the shard's first row ${from}`);
      if (typeof row.target !== "number" || !Number.isSafeInteger(row.target))
        throw fail(`${where}.worst[${i}].target is not a whole number`);
      if (typeof row.pred !== "number" || !Number.isSafeInteger(row.pred))
        throw fail(`${where}.worst[${i}].pred is not a whole number`);
      for (const key of ["loss", "nll", "pTarget"]) number(row[key], `${where}.worst[${i}].${key}`);
      for (const key of ["value", "weight", "wrong"])
        if (row[key] !== undefined) number(row[key], `${where}.worst[${i}].${key}`);
      if (row.id !== undefined && typeof row.id !== "string")
        throw fail(`${where}.worst[${i}].id is not a string`);
    });
    return { rows, used };
  };
  const total = checkStats(s.stats, "stats", s.per_class, worstK);
  if (s.groups !== undefined) {
    if (typeof s.group_by !== "string") throw fail("group_by is not a string");
    const groups = array(s.groups, "groups");
    const seen = new Set<string>();
    let rows = 0;
    let used = 0;
    groups.forEach((g, i) => {
      const group = obj(g, `groups[${i}]`);
      if (typeof group.group !== "string") throw fail(`groups[${i}].group is not a string`);
      if (seen.has(group.group))
        throw fail(`groups[${i}].group ${JSON.stringify(group.group)} is listed twice`);
      seen.add(group.group);
      const counted = checkStats(group.stats, `groups[${i}].stats`, false, 0);
      rows += counted.rows;
      used += counted.used;
    });
    // Every row is in exactly one group.
    if (rows !== total.rows || used !== total.used)
      throw fail("the groups' rows or used rows do not add up to stats.rows and stats.used");
  } else if (s.group_by !== undefined) throw fail("group_by without groups");
  if (s.range !== undefined) {
    const r = obj(s.range, "range");
    const start = count(r.start, "range.start");
    const end = count(r.end, "range.end");
    if (r.total !== null) count(r.total, "range.total");
    if (end <= start || (r.total !== null && end > (r.total as number)))
      throw fail("range is not rows start < end <= total");
    if (total.rows !== end - start)
      throw fail(`stats.rows is ${total.rows}, the range holds ${end - start} rows`);
  }
  if (s.lm !== undefined) {
    const lm = obj(s.lm, "lm");
    if (typeof lm.per_sequence !== "boolean") throw fail("lm.per_sequence is not true or false");
    if (lm.bytes !== null) count(lm.bytes, "lm.bytes");
    const sequences = count(lm.sequences, "lm.sequences", 2 ** 48);
    if (lm.per_sequence) {
      if (s.group_by !== "sequence") throw fail("lm.per_sequence without groups by sequence");
      for (const g of s.groups as { group: string }[]) {
        if (!/^\d+$/.test(g.group) || Number(g.group) >= sequences)
          throw fail(
            `groups: ${JSON.stringify(g.group.slice(0, 40))} is not one of the ${sequences} sequences`,
          );
      }
    }
  }
}
