import type { RowResults } from "../core/rowResults.js";
import type { InputInfo } from "../readers/types.js";
import { formatNumber } from "./formatNumber.js";
import { type Printer, type Report, type RunInfo, type SampleJson, sampleJson, worstJson } from "./report.js";
import type { Writer } from "./writer.js";

/** Right-aligns numbers and left-aligns text in columns two spaces apart. */
export function alignColumns(rows: string[][], numeric: boolean[]): string {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, j) => (numeric[j] ? cell.padStart(widths[j]!) : cell.padEnd(widths[j]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function describeInput(info: InputInfo): string {
  const parts: string[] = [info.format];
  if (info.dtype) parts.push(info.dtype);
  if (info.shape) parts.push(info.shape.join("×"));
  if (info.kind) parts.push(info.kind + (info.column ? ` from column '${info.column}'` : ""));
  return `${info.path} (${parts.join(", ")})`;
}

const SAMPLE_HEADER = ["index", "id", "target", "pred", "p_target", "nll", "loss"];
const SAMPLE_NUMERIC = [true, false, true, true, true, true, true];

function sampleCells(s: SampleJson): string[] {
  const n = (x: number | null) => (x === null ? "-" : formatNumber(x));
  return [
    String(s.index),
    s.id ?? "",
    n(s.target),
    n(s.pred),
    n(s.p_target),
    n(s.nll),
    s.ignored ? "ignored" : n(s.loss),
  ];
}

/** The human summary: inputs, counts, loss, metrics, then the optional tables. */
export class TablePrinter implements Printer {
  private sampleHeader = true;

  constructor(private readonly out: Writer) {}

  async begin(_run: RunInfo): Promise<void> {}

  async samples(res: RowResults, ids: readonly string[] | undefined): Promise<void> {
    const rows: string[][] = [];
    if (this.sampleHeader) rows.push(SAMPLE_HEADER);
    this.sampleHeader = false;
    for (let r = 0; r < res.rows; r++) rows.push(sampleCells(sampleJson(res, r, ids)));
    // Fixed widths per block keep memory bounded; the columns are wide enough for typical values.
    await this.out.write(
      `${rows.map((r) => r.map((c, j) => (SAMPLE_NUMERIC[j] ? c.padStart(10) : c.padEnd(8))).join(" ")).join("\n")}\n`,
    );
  }

  async end(report: Report): Promise<void> {
    const { run, summary, assertions } = report;
    const o = run.options;
    const lines: string[] = [];
    if (!this.sampleHeader) lines.push("");
    lines.push(`predictions  ${describeInput(run.inputs.predictions)}`);
    lines.push(`targets      ${describeInput(run.inputs.targets)}`);
    const c = summary.counts;
    lines.push(
      `rows         ${c.rows} (${c.used} used, ${c.ignored} ignored${c.skipped ? `, ${c.skipped} skipped` : ""})`,
    );
    const setting: string[] = [o.reduction, o.inputType];
    if (o.smoothing > 0) setting.push(`smoothing ${o.smoothing} ${o.smoothingStyle}`);
    if (o.classWeights) setting.push("class weights");
    if (o.temperature !== 1) setting.push(`temperature ${o.temperature}`);
    lines.push("");
    const metricRows: string[][] = [["loss", formatNumber(summary.loss), setting.join(", ")]];
    for (const [name, value] of Object.entries(summary.metrics))
      metricRows.push([name, formatNumber(value), ""]);
    lines.push(alignColumns(metricRows, [false, true, false]));
    if (summary.perClass) {
      const rows = [["class", "name", "count", "loss", "nll", "accuracy", "precision", "predicted"]];
      for (const pc of summary.perClass) {
        rows.push([
          String(pc.class),
          pc.name ?? "",
          String(pc.count),
          formatNumber(pc.loss),
          formatNumber(pc.nll),
          formatNumber(pc.accuracy),
          formatNumber(pc.precision),
          String(pc.predicted),
        ]);
      }
      lines.push("", alignColumns(rows, [true, false, true, true, true, true, true, true]));
    }
    if (run.worst > 0 && !run.perSample) {
      lines.push("", `worst ${summary.worst.rows.length} rows`);
      const rows = [SAMPLE_HEADER];
      for (const w of summary.worst.rows) rows.push(sampleCells(worstJson(w)));
      lines.push(alignColumns(rows, SAMPLE_NUMERIC));
    }
    if (assertions) {
      lines.push("");
      for (const a of assertions)
        lines.push(`${a.passed ? "pass" : "FAIL"}  ${a.expr}  (${formatNumber(a.value)})`);
    }
    await this.out.write(`${lines.join("\n")}\n`);
  }
}
