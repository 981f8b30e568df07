import type { RowResults } from "../core/rowResults.js";
import type { Task } from "../core/types.js";
import { type Report, type RunInfo, SAMPLE_FIELDS, sampleJson } from "../wire/eval.js";
import type { Printer } from "./printer.js";
import { type Writer, writeRows } from "./writer.js";

/** The header of each task's per-sample rows. */
export const csvHeader = (task: Task) => ["index", "id", ...SAMPLE_FIELDS[task]].join(",");
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

  constructor(private readonly out: Writer) {}

  async begin(run: RunInfo): Promise<void> {
    this.task = run.options.task;
    await this.out.write(`${csvHeader(this.task)}\n`);
  }

  async samples(res: RowResults, ids: readonly string[] | undefined): Promise<void> {
    const fields = SAMPLE_FIELDS[this.task];
    await writeRows(this.out, res.rows, (r) => {
      const s = sampleJson(res, r, ids, this.task);
      let line = `${s.index},${field(s.id ?? "")}`;
      for (const key of fields) line += `,${numberField(s[key])}`;
      return `${line}\n`;
    });
  }

  async end(_report: Report): Promise<void> {}
}
