import { CsvPrinter } from "../output/csv.js";
import { JsonPrinter } from "../output/json.js";
import { MarkdownPrinter } from "../output/markdown.js";
import { NdjsonPrinter } from "../output/ndjson.js";
import type { Printer } from "../output/printer.js";
import { makeStyle } from "../output/style.js";
import { TablePrinter } from "../output/table.js";
import type { Writer } from "../output/writer.js";

export type OutputFormat = "table" | "json" | "ndjson" | "csv" | "markdown";

/** The printer for `--format`; only the table has colour, at the level the CLI worked out. */
export async function makePrinter(
  format: OutputFormat,
  out: Writer,
  colour: 0 | 1 | 2 | 3,
): Promise<Printer> {
  switch (format) {
    case "json":
      return new JsonPrinter(out);
    case "ndjson":
      return new NdjsonPrinter(out);
    case "csv":
      return new CsvPrinter(out);
    case "markdown":
      return new MarkdownPrinter(out);
    default:
      return new TablePrinter(out, await makeStyle(colour));
  }
}
