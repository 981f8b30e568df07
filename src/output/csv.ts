import type { RowResults } from "../core/rowResults.js";
import { type Report, type RunInfo, sampleJson } from "../wire/eval.js";
import type { Printer } from "./printer.js";
import { type Writer, writeRows } from "./writer.js";

export const CSV_HEADER = "index,id,target,loss,nll,pred,p_target";

/** RFC 4180 quoting, only where a field needs it. */
function field(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A number as pandas reads it back: shortest round-trip digits, `nan`, `inf`; empty for none. */
function numberField(x: number | null): string {
  if (x === null) return "";
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return String(x);
}

/**
 * Per-sample rows (index, id, target, loss, nll, pred, p_target) under a header. An ignored row has
 * loss 0 and empty nll, pred and p_target; a skipped (NaN) row an empty loss. Nothing else goes to
 * stdout: assertion results go to stderr (run.ts) and the exit code.
 */
export class CsvPrinter implements Printer {
  constructor(private readonly out: Writer) {}

  async begin(_run: RunInfo): Promise<void> {
    await this.out.write(`${CSV_HEADER}\n`);
  }

  async samples(res: RowResults, ids: readonly string[] | undefined): Promise<void> {
    await writeRows(this.out, res.rows, (r) => {
      const s = sampleJson(res, r, ids);
      return `${s.index},${field(s.id ?? "")},${numberField(s.target)},${numberField(s.loss)},${numberField(s.nll)},${numberField(s.pred)},${numberField(s.p_target)}\n`;
    });
  }

  async end(_report: Report): Promise<void> {}
}
