import type { RowResults } from "../core/rowResults.js";
import type { RowLabels, Task } from "../core/types.js";
import { type Report, type RunInfo, SAMPLE_FIELDS, sampleJson } from "../wire/eval.js";
import type { Printer } from "./printer.js";
import { type Writer, writeRows } from "./writer.js";

/** The header of each task's per-sample rows; `pos_0`, `pos_1`, … after `id` for inputs of more than two axes. */
export const csvHeader = (task: Task, dims = 0) =>
  ["index", "id", ...Array.from({ length: dims }, (_, d) => `pos_${d}`), ...SAMPLE_FIELDS[task]].join(",");
export const CSV_HEADER = csvHeader("multiclass");

/** RFC 4180 quoting, only where a field needs it. */
function field(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A number as pandas reads it back: shortest round-trip digits, `nan`, `inf`; empty for none. */
function numberField(x: number | null | undefined): string {
  if (x === null || x === undefined) return "";
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return String(x);
}

/**
 * Per-sample rows (index, id, then the task's SAMPLE_FIELDS: target, loss, nll, pred, p_target
 * for multiclass) under a header. An ignored row has
 * loss 0 and empty nll, pred and p_target; a skipped (NaN) row an empty loss. Nothing else goes to
 * stdout: assertion results go to stderr (run.ts) and the exit code.
 */
export class CsvPrinter implements Printer {
  private task: Task = "multiclass";
  private shape: number[] | null = null;
  private dims = 0;

  constructor(private readonly out: Writer) {}

  async begin(run: RunInfo): Promise<void> {
    this.task = run.options.task;
    this.shape = run.positions?.shape ?? null;
    this.dims = run.positions?.dims ?? 0;
    await this.out.write(`${csvHeader(this.task, this.dims)}\n`);
  }

  async samples(res: RowResults, labels: RowLabels): Promise<void> {
    const fields = SAMPLE_FIELDS[this.task];
    await writeRows(this.out, res.rows, (r) => {
      const s = sampleJson(res, r, labels, this.task, this.shape);
      let line = `${s.index},${field(s.id ?? "")}`;
      for (let d = 0; d < this.dims; d++) line += `,${s.pos?.[d] ?? ""}`;
      for (const key of fields) line += `,${numberField(s[key])}`;
      return `${line}\n`;
    });
  }

  async end(_report: Report): Promise<void> {}
}
