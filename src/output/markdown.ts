import type { RowResults } from "../core/rowResults.js";
import type { RowLabels } from "../core/types.js";
import { type GroupSummary, worstGroups } from "../metrics/groups.js";
import type { PerClassRow } from "../metrics/stats.js";
import type { InputInfo } from "../readers/types.js";
import type { Assertion, Report, RunInfo } from "../wire/eval.js";
import { formatNumber } from "./formatNumber.js";
import type { Printer } from "./printer.js";
import type { Writer } from "./writer.js";

/**
 * `--format markdown`: the summary as GitHub-flavoured Markdown, for `$GITHUB_STEP_SUMMARY` and
 * pull-request comments: one table of the numbers, the assertions with pass/fail marks, and the
 * per-class and per-group tables folded in `<details>`. No per-sample rows (csv and ndjson
 * stream those).
 */
export class MarkdownPrinter implements Printer {
  constructor(private readonly out: Writer) {}

  async begin(_run: RunInfo): Promise<void> {}

  async samples(_results: RowResults, _labels: RowLabels): Promise<void> {
    throw new Error("--format markdown prints no per-sample rows");
  }

  async end(report: Report): Promise<void> {
    await this.out.write(markdownReport(report));
  }
}

/** Text for a Markdown table cell: pipes escaped, no line breaks. */
export const cell = (text: string) =>
  text
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/[\r\n]+/g, " ");

export function markdownTable(rows: readonly (readonly string[])[], numeric: readonly boolean[]): string {
  const [head, ...body] = rows;
  const line = (r: readonly string[]) => `| ${r.map(cell).join(" | ")} |`;
  const rule = `|${numeric.map((n) => (n ? " ---: " : " --- ")).join("|")}|`;
  return [line(head!), rule, ...body.map(line)].join("\n");
}

/** `### xent eval ✅` / `❌ N failed`: the heading with the assertions' verdict (none without assertions). */
export function markdownHeading(command: string, assertions: readonly Assertion[] | null): string {
  const failed = assertions?.filter((a) => !a.passed).length ?? 0;
  const verdict = assertions === null ? "" : failed === 0 ? " ✅" : ` ❌ ${failed} failed`;
  return `### xent ${command}${verdict}`;
}

/** The assertions with ✅/❌ marks. */
export function markdownAssertions(assertions: readonly Assertion[]): string {
  return markdownTable(
    [
      ["", "assertion", "value"],
      ...assertions.map((a) => [a.passed ? "✅" : "❌", `\`${a.expr}\``, formatNumber(a.value)]),
    ],
    [false, false, true],
  );
}

const describe = (i: InputInfo) => `\`${cell(i.path)}\` (${i.format}${i.member ? `, ${i.member}` : ""})`;

export function markdownReport(report: Report): string {
  const { run, summary, assertions } = report;
  const c = summary.counts;
  const parts: string[] = [];
  parts.push(markdownHeading("eval", assertions));
  parts.push(
    `${describe(run.inputs.predictions)} against ${describe(run.inputs.targets)} · ${c.rows} rows (${c.used} used${c.ignored ? `, ${c.ignored} ignored` : ""}${c.skipped ? `, ${c.skipped} skipped` : ""})`,
  );
  const metrics = [
    ["metric", "value"],
    ["**loss**", `**${formatNumber(summary.loss)}**`],
    ...Object.entries(summary.metrics).map(([k, v]) => [k, formatNumber(v)]),
  ];
  parts.push(markdownTable(metrics, [false, true]));
  if (assertions) parts.push(markdownAssertions(assertions));
  if (summary.perClass) parts.push(details("per class", perClassTable(summary.perClass, run)));
  if (report.groups) {
    const groups = report.groups;
    const shown = worstGroups(groups, run.display.topGroups ?? 10);
    const title = `per ${run.display.groupBy ?? "group"}, worst loss first${shown.length < groups.length ? ` (${shown.length} of ${groups.length})` : ""}`;
    parts.push(details(title, groupTable(shown, run)));
  }
  return `${parts.join("\n\n")}\n`;
}

function details(summary: string, body: string): string {
  return `<details><summary>${cell(summary)}</summary>\n\n${body}\n\n</details>`;
}

function perClassTable(rows: PerClassRow[], run: RunInfo): string {
  const labels = run.options.task === "multilabel";
  const head = labels
    ? ["label", "name", "positives", "loss", "precision", "recall", "f1"]
    : ["class", "name", "count", "loss", "accuracy", "precision"];
  const body = rows.map((pc) => [
    String(pc.class),
    pc.name ?? "",
    String(pc.count),
    formatNumber(pc.loss),
    ...(labels
      ? [formatNumber(pc.precision), formatNumber(pc.recall ?? Number.NaN), formatNumber(pc.f1 ?? Number.NaN)]
      : [formatNumber(pc.accuracy), formatNumber(pc.precision)]),
  ]);
  // Without class names the name column would be empty.
  const keep = (_: string, j: number) => j !== 1 || run.classNames !== null;
  return markdownTable(
    [head, ...body].map((r) => r.filter(keep)),
    head.filter(keep).map((h) => h !== "name"),
  );
}

function groupTable(groups: GroupSummary[], run: RunInfo): string {
  const score = run.options.task === "multilabel" ? "hamming_accuracy" : "accuracy";
  return markdownTable(
    [
      ["group", "count", "used", "loss", score],
      ...groups.map((g) => [
        g.group,
        String(g.count),
        String(g.used),
        formatNumber(g.loss ?? Number.NaN),
        formatNumber(g.metrics?.[score] ?? Number.NaN),
      ]),
    ],
    [false, true, true, true, true],
  );
}
