import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RowResults } from "../core/rowResults.js";
import type { RowLabels, Task } from "../core/types.js";
import { XentError } from "../errors.js";
import { describeIoError } from "../readers/files.js";
import { documentJson, type Report, type RunInfo, sampleJson } from "../wire/eval.js";
import { prettyJson } from "./prettyJson.js";
import type { Printer } from "./printer.js";
import { Writer, writeRows } from "./writer.js";

/** JSON.stringify writes NaN and ±Infinity as null, which is what the contract asks for. */
const json = (value: unknown) => JSON.stringify(value);

/**
 * One JSON document, written only when it is complete: an interrupted or failed run leaves no
 * partial JSON on stdout. With every sample printed, the `per_sample` lines go to a temporary
 * spool file as they are computed (memory stays bounded however many rows there are) and are
 * copied into the document, in the contract's key order, at the end.
 */
export class JsonPrinter implements Printer {
  private spool: { dir: string; path: string; writer: Writer; rows: number } | null = null;
  /** Where the document began in a regular-file stdout, while it is being copied out. */
  private copying: number | null = null;

  constructor(private readonly out: Writer) {}

  private task: Task = "multiclass";
  private shape: number[] | null = null;

  async begin(run: RunInfo): Promise<void> {
    this.task = run.options.task;
    this.shape = run.positions?.shape ?? null;
    if (!run.perSample) return;
    let dir: string;
    try {
      dir = mkdtempSync(join(tmpdir(), "xent-"));
    } catch (e) {
      throw new XentError(
        "io",
        `cannot make the temporary spool for --per-sample (TMPDIR ${tmpdir()}): ${describeIoError(e)}`,
      );
    }
    const path = join(dir, "per_sample.jsonl");
    this.spool = { dir, path, writer: new Writer(createWriteStream(path)), rows: 0 };
  }

  async samples(res: RowResults, labels: RowLabels): Promise<void> {
    const spool = this.spool!;
    await writeRows(
      spool.writer,
      res.rows,
      (r) =>
        `${spool.rows++ === 0 ? "" : ","}\n    ${json(sampleJson(res, r, labels, this.task, this.shape))}`,
    );
  }

  async end(report: Report): Promise<void> {
    const doc = documentJson(report);
    if (!this.spool) {
      await this.out.write(`${prettyJson(doc)}\n`);
      return;
    }
    const { assertions, ...before } = doc;
    await this.spool.writer.close();
    this.copying = this.out.mark();
    // The document up to per_sample, without its closing brace; the spooled rows; the rest.
    await this.out.write(`${prettyJson(before).slice(0, -2)},\n  "per_sample": [`);
    for await (const chunk of createReadStream(this.spool.path, {
      encoding: "utf8",
      highWaterMark: 1 << 20,
    })) {
      await this.out.write(chunk as string);
    }
    const tail = assertions === undefined ? "" : `,\n  "assertions": ${prettyJson(assertions, "  ")}`;
    await this.out.write(`\n  ]${tail}\n}\n`);
    this.copying = null;
    this.abort();
  }

  /**
   * Removes the spool; during the final copy into a regular file, also takes back what was
   * written of the document, so that a signal leaves no partial JSON. Into a pipe, what was
   * written is gone: the reader sees a document cut short and xent's exit code (130, 143, 129).
   */
  abort(): void {
    if (this.copying !== null) this.out.truncate(this.copying);
    this.copying = null;
    if (this.spool) rmSync(this.spool.dir, { recursive: true, force: true });
    this.spool = null;
  }
}
