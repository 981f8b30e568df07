import type { RowResults } from "../core/rowResults.js";
import { DEFAULT_IGNORE_INDEX, type RowLabels, type Task } from "../core/types.js";
import { type GroupSummary, worstGroups } from "../metrics/groups.js";
import type { PerClassRow } from "../metrics/stats.js";
import type { InputInfo } from "../readers/types.js";
import {
  type Assertion,
  type Report,
  type RunInfo,
  type SampleJson,
  sampleJson,
  worstJson,
} from "../wire/eval.js";
import { alignDecimals, formatNumber } from "./formatNumber.js";
import type { Printer } from "./printer.js";
import { type Style, visibleLength } from "./style.js";
import { type Writer, writeRows } from "./writer.js";

/**
 * Lays out a table: text columns left-aligned, number columns with their decimal points lined up,
 * two spaces apart. The header row is styled as a heading.
 */
/** `PASS  loss<=0.5  0.43` lines, the expressions padded to one width. */
export function assertionLines(assertions: readonly Assertion[], s: Style): string[] {
  const width = Math.max(...assertions.map((a) => a.expr.length));
  return assertions.map(
    (a) => `${a.passed ? s.pass("PASS") : s.fail("FAIL")}  ${a.expr.padEnd(width)}  ${formatNumber(a.value)}`,
  );
}

export function alignColumns(rows: string[][], numeric: boolean[], style?: Style): string {
  const columns = rows[0]!.map((_, j) => {
    const cells = rows.map((r) => r[j]!);
    return numeric[j] ? [cells[0]!, ...alignDecimals(cells.slice(1))] : cells;
  });
  const widths = columns.map((cells) => Math.max(...cells.map(visibleLength)));
  return rows
    .map((_, i) => {
      const line = columns
        .map((cells, j) => {
          const cell = cells[i]!;
          const pad = " ".repeat(widths[j]! - visibleLength(cell));
          return numeric[j] ? pad + cell : cell + pad;
        })
        .join("  ")
        .trimEnd();
      return i === 0 && style ? style.heading(line) : line;
    })
    .join("\n");
}

export function describeInput(info: InputInfo): string {
  const parts: string[] = [info.format];
  if (info.compression) parts.push(info.compression);
  if (info.dtype) parts.push(info.dtype);
  if (info.shape) parts.push(info.shape.join(" × "));
  if (info.kind) parts.push(info.kind);
  if (info.column) parts.push(`column '${info.column}'`);
  if (info.member && !info.column) parts.push(info.path.includes(":") ? "" : `'${info.member}'`);
  return `${info.path}  ${parts.filter(Boolean).join(" · ")}`;
}

/** The per-sample table's columns for each task: index, id, then the task's fields. */
const SAMPLE_COLUMNS = {
  multiclass: ["target", "pred", "p_target", "nll", "loss"],
  binary: ["target", "pred", "p", "nll", "loss"],
  multilabel: ["positives", "predicted", "wrong", "nll", "loss"],
} as const satisfies Record<Task, readonly (keyof SampleJson)[]>;
/** The second column holds the id, else (inputs of more than two axes) the position "b,t". */
const sampleHeader = (task: Task, second = "id") => ["index", second, ...SAMPLE_COLUMNS[task]];
/** index, id, then the task's columns: classes are text, the rest numbers. */
const sampleNumeric = (task: Task) => [
  true,
  false,
  ...SAMPLE_COLUMNS[task].map((k) => !(task !== "multilabel" && (k === "target" || k === "pred"))),
];

/** A class as "3" or "3 fox" when the classes have names. */
function classLabel(c: number | null | undefined, names: readonly string[] | null): string {
  if (c === null || c === undefined) return "-";
  const name = names?.[c];
  return name === undefined ? String(c) : `${c} ${name}`;
}

const idCell = (s: SampleJson) => s.id ?? s.pos?.join(",") ?? "";

function sampleCells(s: SampleJson, names: readonly string[] | null, task: Task): string[] {
  const n = (x: number | null | undefined) => (x === null || x === undefined ? "-" : formatNumber(x));
  const loss = s.skipped ? "skipped" : s.ignored ? "ignored" : n(s.loss);
  if (task === "multilabel") {
    const count = (x: number | null | undefined) => (x === null || x === undefined ? "-" : String(x));
    return [
      String(s.index),
      idCell(s),
      count(s.positives),
      count(s.predicted),
      count(s.wrong),
      n(s.nll),
      loss,
    ];
  }
  const target = s.target ?? null;
  return [
    String(s.index),
    idCell(s),
    s.ignored && target !== null && (names === null || target < 0)
      ? String(target)
      : classLabel(target, names),
    classLabel(s.pred, names),
    n(task === "binary" ? s.p : s.p_target),
    n(s.nll),
    loss,
  ];
}

/** The table without its id column when no row has an id. */
function withoutEmptyIds(rows: string[][], numeric: boolean[]): [string[][], boolean[]] {
  if (rows.slice(1).some((r) => r[1] !== "")) return [rows, numeric];
  return [rows.map((r) => r.filter((_, j) => j !== 1)), numeric.filter((_, j) => j !== 1)];
}

/** Per-class rows shown by default before the rest is summarised in one line. */
const DEFAULT_TOP_CLASSES = 30;

/**
 * The human summary: inputs, counts, loss and metrics, then the per-class table, the worst rows
 * and the assertions. Reads well at 80 columns; colour only through `style`.
 */
export class TablePrinter implements Printer {
  private sampleHeader = true;
  private names: readonly string[] | null = null;
  private task: Task = "multiclass";
  private shape: number[] | null = null;

  constructor(
    private readonly out: Writer,
    private readonly style: Style,
  ) {}

  async begin(run: RunInfo): Promise<void> {
    this.names = run.classNames;
    this.task = run.options.task;
    this.shape = run.positions?.shape ?? null;
  }

  async samples(res: RowResults, labels: RowLabels): Promise<void> {
    const second = labels.ids !== undefined || labels.pos !== undefined || this.shape !== null;
    // Fixed widths (not measured over all rows) keep memory to a few rows of text.
    const line = (cells: string[]) => {
      if (!second) cells.splice(1, 1);
      const all = sampleNumeric(this.task);
      const numeric = second ? all : all.filter((_, j) => j !== 1);
      return cells
        .map((c, j) => (j === 0 ? c.padStart(7) : numeric[j] ? c.padStart(9) : c.padEnd(12)))
        .join("  ")
        .trimEnd();
    };
    if (this.sampleHeader) {
      const header = sampleHeader(this.task, labels.ids === undefined ? "pos" : "id");
      await this.out.write(`${this.style.heading(line(header))}\n`);
    }
    this.sampleHeader = false;
    await writeRows(
      this.out,
      res.rows,
      (r) =>
        `${line(sampleCells(sampleJson(res, r, labels, this.task, this.shape), this.names, this.task))}\n`,
    );
  }

  async end(report: Report): Promise<void> {
    const { run, summary, assertions } = report;
    const s = this.style;
    const o = run.options;
    const out: string[] = [];
    if (!this.sampleHeader) out.push("");
    const c = summary.counts;
    const counts = [`${c.used} used`, `${c.ignored} ignored`];
    if (c.skipped) counts.push(`${c.skipped} skipped (NaN)`);
    const setting: string[] = [o.reduction, o.inputType];
    if (o.task !== "multiclass") setting.unshift(o.task);
    if (o.posWeight)
      setting.push(
        o.posWeight.length <= 4 ? `pos_weight ${Array.from(o.posWeight).join(",")}` : "pos_weight per label",
      );
    if (o.task !== "multiclass" && o.threshold !== 0.5) setting.push(`threshold ${o.threshold}`);
    if (o.smoothing > 0) setting.push(`smoothing ${o.smoothing} ${o.smoothingStyle}`);
    if (o.classWeights) setting.push("class weights");
    if (o.ignoreIndex !== DEFAULT_IGNORE_INDEX) setting.push(`ignore index ${o.ignoreIndex}`);
    if (o.temperature !== 1) setting.push(`temperature ${o.temperature}`);
    const head = [
      ["predictions", describeInput(run.inputs.predictions)],
      ["targets", describeInput(run.inputs.targets)],
      ["rows", `${c.rows}  (${counts.join(" · ")})`],
      ["options", setting.join(" · ")],
    ];
    out.push(...head.map(([k, v]) => `${s.dim(k!.padEnd(12))} ${v}`));
    out.push("");
    const metricRows = [
      ["loss", formatNumber(summary.loss)],
      ...Object.entries(summary.metrics).map(([k, v]) => [k, formatNumber(v)]),
    ];
    const values = alignDecimals(metricRows.map(([, v]) => v!));
    const keyWidth = Math.max(...metricRows.map(([k]) => k!.length));
    metricRows.forEach(([k], i) => {
      const line = `${k!.padEnd(keyWidth)}  ${values[i]}`.trimEnd();
      out.push(i === 0 ? s.value(line) : line);
    });
    if (summary.perClass) out.push("", ...this.perClass(summary.perClass, run));
    if (report.groups) out.push("", ...this.perGroup(report.groups, run));
    if (run.worst > 0 && !run.perSample) {
      out.push("", s.heading(`worst ${summary.worst.rows.length} rows by loss`));
      const task = o.task;
      const worst = summary.worst.rows.map((w) => worstJson(w, task, run.positions?.shape ?? null));
      const rows = [
        sampleHeader(task, worst.some((w) => w.id !== undefined) ? "id" : "pos"),
        ...worst.map((w) => sampleCells(w, run.classNames, task)),
      ];
      out.push(alignColumns(...withoutEmptyIds(rows, sampleNumeric(task)), s));
    }
    if (assertions) out.push("", ...assertionLines(assertions, s));
    await this.out.write(`${out.join("\n")}\n`);
  }

  /** The groups, worst loss first, `--top-groups` of them (0: all); groups of no used row last. */
  private perGroup(all: GroupSummary[], run: RunInfo): string[] {
    const shown = worstGroups(all, run.display.topGroups ?? 10);
    const task = run.options.task;
    const score = task === "multilabel" ? "hamming_accuracy" : "accuracy";
    const title = `per ${run.display.groupBy ?? "group"}, by loss, worst first${shown.length < all.length ? ` (${shown.length} of ${all.length})` : ""}`;
    const rows = [["group", "count", "used", "loss", "nll", score]];
    for (const g of shown)
      rows.push([
        g.group,
        String(g.count),
        String(g.used),
        formatNumber(g.loss ?? Number.NaN),
        formatNumber(g.metrics?.nll ?? Number.NaN),
        formatNumber(g.metrics?.[score] ?? Number.NaN),
      ]);
    const lines = [
      this.style.heading(title),
      alignColumns(rows, [false, true, true, true, true, true], this.style),
    ];
    const rest = all.length - shown.length;
    if (rest > 0) lines.push(this.style.dim(`… ${rest} more groups (--top-groups 0 shows all)`));
    return lines;
  }

  private perClass(all: PerClassRow[], run: RunInfo): string[] {
    const sorted =
      run.display.sortClasses === "loss"
        ? [...all].sort(
            (a, b) =>
              (b.loss === b.loss ? b.loss : -1) - (a.loss === a.loss ? a.loss : -1) || a.class - b.class,
          )
        : all;
    const limit =
      run.display.topClasses ?? (all.length > DEFAULT_TOP_CLASSES + 5 ? DEFAULT_TOP_CLASSES : all.length);
    const shown = limit === 0 ? sorted : sorted.slice(0, limit);
    // Multilabel: a label's count is its positive rows, with recall and F1 beside precision.
    const labels = run.options.task === "multilabel";
    const unit = labels ? "label" : "class";
    const by = run.display.sortClasses === "loss" ? "by loss, worst first" : `by ${unit}`;
    const title =
      shown.length < all.length
        ? `per ${unit}, ${by} (${shown.length} of ${all.length})`
        : `per ${unit}, ${by}`;
    const rows = [
      labels
        ? ["label", "name", "positives", "loss", "nll", "precision", "recall", "f1", "predicted"]
        : ["class", "name", "count", "loss", "nll", "accuracy", "precision", "predicted"],
    ];
    for (const pc of shown) {
      const scores = labels
        ? [pc.precision, pc.recall ?? Number.NaN, pc.f1 ?? Number.NaN]
        : [pc.accuracy, pc.precision];
      rows.push([
        String(pc.class),
        pc.name ?? "",
        String(pc.count),
        formatNumber(pc.loss),
        formatNumber(pc.nll),
        ...scores.map((x) => formatNumber(x)),
        String(pc.predicted),
      ]);
    }
    if (!run.classNames) for (const r of rows) r.splice(1, 1);
    const numeric = rows[0]!.map((_, j) => !(run.classNames && j === 1));
    const lines = [this.style.heading(title), alignColumns(rows, numeric, this.style)];
    const rest = sorted.slice(shown.length);
    if (rest.length > 0) {
      const restRows = rest.reduce((n, pc) => n + pc.count, 0);
      lines.push(
        this.style.dim(`… ${rest.length} more classes with ${restRows} rows (--top-classes 0 shows all)`),
      );
    }
    return lines;
  }
}
