import type { RowResults } from "../core/rowResults.js";
import { prettyJson } from "./prettyJson.js";
import { documentJson, type Printer, type Report, type RunInfo, SCHEMA, sampleJson } from "./report.js";
import type { Writer } from "./writer.js";

/** JSON.stringify writes NaN and ±Infinity as null, which is what the contract asks for. */
const json = (value: unknown) => JSON.stringify(value);

/**
 * One JSON document. With every sample printed, `per_sample` comes right after `schema` and is
 * written block by block, so memory stays bounded however many rows there are; the summary
 * fields follow once they are known.
 */
export class JsonPrinter implements Printer {
  private streaming = false;
  private first = true;

  constructor(private readonly out: Writer) {}

  async begin(run: RunInfo): Promise<void> {
    this.streaming = run.perSample;
    if (this.streaming) await this.out.write(`{\n  "schema": ${json(SCHEMA)},\n  "per_sample": [`);
  }

  async samples(res: RowResults, ids: readonly string[] | undefined): Promise<void> {
    let text = "";
    for (let r = 0; r < res.rows; r++) {
      text += `${this.first ? "" : ","}\n    ${json(sampleJson(res, r, ids))}`;
      this.first = false;
    }
    if (text) await this.out.write(text);
  }

  async end(report: Report): Promise<void> {
    const doc = documentJson(report);
    if (!this.streaming) {
      await this.out.write(`${prettyJson(doc)}\n`);
      return;
    }
    const { schema: _, ...rest } = doc;
    const body = prettyJson(rest).slice(1); // drop "{": the rest continues the open document
    await this.out.write(`\n  ],${body}\n`);
  }
}
