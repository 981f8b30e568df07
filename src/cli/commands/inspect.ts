/** `xent inspect`: usage and options, and what it prints. */
import { type Command, Option } from "commander";
import { XentError } from "../../errors.js";
import { prettyJson } from "../../output/prettyJson.js";
import { alignColumns } from "../../output/table.js";
import type { Writer } from "../../output/writer.js";
import { pickKey, TARGET_KEYS } from "../../readers/npy/npz.js";
import { shapeText } from "../../readers/npy/source.js";
import {
  type OpenedPredictions,
  type OpenOptions,
  openPredictions,
  openTargets,
} from "../../readers/open.js";
import type { InputFormat } from "../../readers/types.js";
import type { Outcome } from "../finish.js";
import { classAxis, INPUT_FORMATS } from "../values.js";
export interface InspectArgs {
  file: string;
  inputFormat: InputFormat | undefined;
  open: OpenOptions;
  format: "table" | "json";
}

/** Adds `xent inspect` to the program; `onArgs` receives the parsed flags. */
export function defineInspect(program: Command, onArgs: (args: InspectArgs) => void): void {
  program
    .command("inspect")
    .description("show format, dtype, shape, columns, target and id columns, class names of a file")
    .argument("<file>", "NPY, NPZ, safetensors, CSV, TSV, Arrow IPC or Parquet; - for standard input")
    .addOption(
      new Option("--input-format <format>", "the format (default: from the content)").choices(INPUT_FORMATS),
    )
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .option("--json", "same as --format json")
    .option("--class-axis <axis>", "the class axis of an NPY array")
    .option("--target-column <name|index>", "target column (default: one named label, target, y or class)")
    .option("--id-column <name|index>", "id column")
    .option("--logits-column <name>", "Arrow, Parquet: the list column of scores")
    .option("--logits-key <key>", "NPZ: the predictions array")
    .option("--score-columns <spec>", "the score columns: names, globs (logit_*), index ranges (2:12)")
    .option("--drop-columns <spec>", "columns that are not scores")
    .option("--header", "the first row of a CSV/TSV is a header (default: detected)")
    .option("--no-header", "the first row of a CSV/TSV is data")
    .action((file: string, o: Record<string, unknown>) => {
      const s = (k: string) => o[k] as string | undefined;
      onArgs({
        file,
        inputFormat: s("inputFormat") as InputFormat | undefined,
        format: o.json ? "json" : (s("format") as "table" | "json"),
        open: {
          classAxis: classAxis(s("classAxis")),
          targetColumn: s("targetColumn"),
          idColumn: s("idColumn"),
          logitsColumn: s("logitsColumn"),
          logitsKey: s("logitsKey"),
          scoreColumns: s("scoreColumns"),
          dropColumns: s("dropColumns"),
          header: o.header as boolean | undefined,
        },
      });
    });
}

/**
 * `xent inspect FILE`: what xent sees in a file, as eval would read it: format, dtype, shape
 * (rows × classes), columns and their roles, target and id columns, class names, compression.
 * Tabular formats are read through once to count rows (bounded memory, and every value checked).
 */
export async function runInspect(args: InspectArgs, out: Writer): Promise<Outcome> {
  let opened: OpenedPredictions;
  try {
    opened = await openPredictions(args.file, args.inputFormat, args.open, false);
  } catch (e) {
    // Not predictions (a labels column, a 1-D NPY of class indices): describe it as targets.
    if (!(e instanceof XentError) || args.file === "-" || (e.code !== "shape" && e.code !== "format"))
      throw e;
    const doc = await inspectTargets(args).catch(() => {
      throw e;
    });
    await out.write(args.format === "json" ? `${prettyJson(doc)}\n` : inspectTable(doc));
    await out.end();
    return "ok";
  }
  const p = opened.source;
  let rows: number;
  if (opened.layout) {
    rows = opened.layout.shape.reduce((a, b) => a * b, 1) / (p.classes || 1);
  } else {
    rows = 0;
    for await (const chunk of p.chunks(1 << 16)) rows += chunk.rows;
  }
  const doc: Record<string, unknown> = {
    schema: "xent.inspect/1",
    path: p.info.path,
    format: p.info.format,
    compression: p.info.compression ?? null,
    wrapper: p.info.wrapper ?? null,
    role: "predictions",
    dtype: p.info.dtype ?? "float64",
    rows,
    classes: p.classes,
  };
  if (opened.layout) {
    doc.array_shape = p.info.shape ?? opened.layout.shape;
    doc.class_axis = p.info.shape?.length === 1 ? null : opened.layout.axis;
  }
  // What eval will do without --task: one score per row is a binary classifier.
  doc.task = p.classes === 1 ? "binary (one score per row)" : "multiclass (or --task multilabel)";
  if (p.info.member) doc[opened.archive ? "logits_key" : "logits_column"] = p.info.member;
  if (p.rowGroups) {
    doc.row_groups = p.rowGroups.count;
    doc.written_by = p.rowGroups.writtenBy;
  }
  if (p.columns) doc.columns = p.columns;
  doc.target = p.targetKind ? { column: p.targetColumn, kind: p.targetKind } : null;
  if (opened.archive) {
    const key = pickKey(opened.archive, undefined, TARGET_KEYS, "--targets-key");
    if (key !== null) doc.target = { key, kind: "index or probs, by shape" };
  }
  doc.id_column = p.columns?.find((c) => c.role === "id")?.name ?? null;
  doc.class_names = p.classNames;
  if (p.pendingHeader) {
    doc.header =
      "the first row may be a header or data: eval decides from the other input's row count, else pass --header or --no-header";
  }
  if (opened.archive) doc.arrays = await opened.archive.describe();
  await opened.source[Symbol.asyncDispose]();
  await out.write(args.format === "json" ? `${prettyJson(doc)}\n` : inspectTable(doc));
  await out.end();
  return "ok";
}

/** A targets file on its own: kind, rows, column, id column (classes: unknown, so any width of probabilities). */
async function inspectTargets(args: InspectArgs): Promise<Record<string, unknown>> {
  const none: OpenedPredictions = {
    source: {
      info: { path: "", format: "npy" },
      classes: 0,
      classNames: null,
      targetKind: null,
      targetColumn: null,
      chunks: async function* () {},
      progress: () => null,
      [Symbol.asyncDispose]: async () => {},
    },
    layout: { shape: [-1, -1], axis: 1, path: "" },
    archive: null,
  };
  const t = await openTargets(args.file, args.inputFormat, args.open, none);
  let rows = 0;
  let width = 1;
  try {
    for await (const chunk of t.chunks(1 << 16)) {
      rows += chunk.rows;
      if (chunk.targets.kind === "probs" && chunk.rows > 0) width = chunk.targets.values.length / chunk.rows;
    }
  } finally {
    await t[Symbol.asyncDispose]();
  }
  return {
    schema: "xent.inspect/1",
    path: t.info.path,
    format: t.info.format,
    wrapper: t.info.wrapper ?? null,
    role: "targets",
    dtype: t.info.dtype ?? null,
    rows,
    classes: t.kind === "probs" ? width : null,
    target: { column: t.info.column ?? null, kind: t.kind },
  };
}

function inspectTable(doc: Record<string, unknown>): string {
  const lines: string[][] = [];
  const add = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) lines.push([key, String(value)]);
  };
  add("file", doc.path);
  add("format", doc.compression ? `${doc.format} (${doc.compression} compressed)` : doc.format);
  if (doc.wrapper) add("wrapped in", String(doc.wrapper));
  add("dtype", doc.dtype);
  add("row groups", doc.row_groups);
  add("written by", doc.written_by);
  if (doc.role === "targets") {
    const t = doc.target as { column: string | null; kind: string };
    add("read as", "targets (no scores to read as predictions)");
    add("rows", doc.rows);
    add(
      "target",
      `${t.column === null ? "the only column" : `column '${t.column}'`} (${t.kind === "probs" ? `probabilities of ${doc.classes} classes` : t.kind === "index" ? "class indices" : "class names"})`,
    );
    return `${alignColumns(lines, [false, false])}\n`;
  }
  add("rows × classes", `${doc.rows} × ${doc.classes}`);
  if (doc.array_shape)
    add(
      "array",
      doc.class_axis === null
        ? `${shapeText(doc.array_shape as number[])}, one score per row`
        : `${shapeText(doc.array_shape as number[])}, class axis ${doc.class_axis}`,
    );
  add("task", String(doc.task));
  add("logits key", doc.logits_key);
  add("logits column", doc.logits_column);
  const target = doc.target as { column?: string; key?: string; kind: string } | null;
  const where = target?.key !== undefined ? `array '${target.key}'` : `column '${target?.column}'`;
  add("target", target ? `${where} (${target.kind})` : "none (give a targets file)");
  add("id column", doc.id_column);
  add("header", doc.header);
  const names = doc.class_names as string[] | null;
  if (names)
    add(
      "class names",
      names.length > 12 ? `${names.slice(0, 12).join(", ")}, … (${names.length})` : names.join(", "),
    );
  let text = `${alignColumns(lines, [false, false])}\n`;
  const columns = doc.columns as { name: string; type: string; role: string }[] | undefined;
  if (columns) {
    const shown =
      columns.length > 20
        ? [
            ...columns.slice(0, 10),
            { name: "…", type: "", role: `${columns.length - 20} more` },
            ...columns.slice(-10),
          ]
        : columns;
    text += `\n${alignColumns([["column", "type", "read as"], ...shown.map((c) => [c.name, c.type, c.role])], [false, false, false])}\n`;
  }
  const arrays = doc.arrays as
    | { key: string; dtype: string; shape: number[]; compressed: boolean }[]
    | undefined;
  if (arrays) {
    text += `\n${alignColumns([["array", "dtype", "shape", "stored"], ...arrays.map((a) => [a.key, a.dtype, shapeText(a.shape), a.compressed ? "deflated" : "stored"])], [false, false, false, false])}\n`;
  }
  return text;
}
