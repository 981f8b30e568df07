import type { RowResults } from "../core/rowResults.js";
import type { RowLabels, Task } from "../core/types.js";
import { documentJson, type Report, type RunInfo, sampleJson } from "../wire/eval.js";
import type { Printer } from "./printer.js";
import { type Writer, writeRows } from "./writer.js";

/**
 * One `{"type":"sample",…}` line per row as it is computed, then one `{"type":"summary",…}` line
 * with the JSON document's fields. Lines are written block by block and wait for stdout to drain,
 * so a slow reader slows xent down instead of filling memory.
 */
export class NdjsonPrinter implements Printer {
  private task: Task = "multiclass";
  private shape: number[] | null = null;

  constructor(private readonly out: Writer) {}

  async begin(run: RunInfo): Promise<void> {
    this.task = run.options.task;
    this.shape = run.positions?.shape ?? null;
  }

  async samples(res: RowResults, labels: RowLabels): Promise<void> {
    await writeRows(
      this.out,
      res.rows,
      (r) => `${JSON.stringify({ type: "sample", ...sampleJson(res, r, labels, this.task, this.shape) })}\n`,
    );
  }

  async end(report: Report): Promise<void> {
    const { per_sample: _, ...doc } = documentJson(report);
    await this.out.write(`${JSON.stringify({ type: "summary", ...doc })}\n`);
  }
}
