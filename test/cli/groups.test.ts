import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { tempDir, writeNpy, writeText } from "../helpers/files.js";
import { type Json, ROOT, runInProcess, xent } from "../helpers/run.js";

/** `--group-by`: per-group numbers are exactly what an eval of the group's rows alone gives. */
const dir = tempDir();
const N = 240;
const C = 4;
const rnd = (() => {
  let a = 7;
  return () => {
    a = (a * 1103515245 + 12345) % 2 ** 31;
    return a / 2 ** 31;
  };
})();
const rows = Array.from({ length: N }, (_, i) => ({
  scores: Array.from({ length: C }, () => ((rnd() - 0.5) * 6).toFixed(4)),
  label: i % 7 === 0 ? -100 : Math.floor(rnd() * C),
  site: ["north", "south", "east", "10", "9"][i % 5]!,
}));
const csv = (name: string, subset: typeof rows, withSite: boolean) =>
  writeText(
    dir,
    name,
    `${["c0", "c1", "c2", "c3", "label", ...(withSite ? ["site"] : [])].join(",")}\n${subset
      .map((r) => [...r.scores, r.label, ...(withSite ? [r.site] : [])].join(","))
      .join("\n")}\n`,
  );
const all = csv("all.csv", rows, true);

const runMerge = (files: string[]) => runInProcess(["merge", ...files, "--json"]);

async function evalJson(args: string[], settings = {}): Promise<Json> {
  return JSON.parse((await runInProcess(["eval", ...args, "--json"], undefined, settings)).stdout);
}

const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addSchema(JSON.parse(readFileSync(`${ROOT}schema/xent.eval.schema.json`, "utf8")));
const validEval = ajv.getSchema("https://xent.dev/schema/xent.eval.schema.json")!;

describe("--group-by", () => {
  it("gives each group the numbers an eval of its rows alone gives, bit for bit", async () => {
    const doc = await evalJson([all, "--group-by", "site", "--smoothing", "0.1"]);
    if (!validEval(doc)) expect.fail(ajv.errorsText(validEval.errors));
    // Numbers by value (9 before 10), then text.
    expect(doc.per_group.map((g: Json) => g.group)).toEqual(["9", "10", "east", "north", "south"]);
    for (const g of doc.per_group) {
      const alone = await evalJson([
        csv(
          `site-${g.group}.csv`,
          rows.filter((r) => r.site === g.group),
          false,
        ),
        "--smoothing",
        "0.1",
      ]);
      expect(g.count).toBe(alone.counts.rows);
      expect(g.used).toBe(alone.counts.used);
      expect(g.loss).toBe(alone.loss);
      expect(g.metrics).toEqual(alone.metrics);
    }
  });

  it("is the same for any --threads and --chunk-rows (worker threads send their rows' results back)", async () => {
    // NPY logits (CSV is parsed on one thread), the groups beside the labels.
    const labels = writeText(
      dir,
      "labels-threads.csv",
      `label,fold\n${Array.from({ length: 360 }, (_, i) => `${LABELS[i]},f${i % 4}`).join("\n")}\n`,
    );
    const args = [`${ROOT}fixtures/digits/logits.npy`, labels, "--group-by", "fold"];
    const one = await evalJson([...args, "--threads", "1"]);
    for (const [threads, chunk] of [
      ["2", "7"],
      ["3", "50"],
    ]) {
      // Spawned: vitest runs src/, where there is no worker script; threads from 1 byte on.
      const r = await xent(["eval", ...args, "--threads", threads!, "--chunk-rows", chunk!, "--json"], {
        env: { XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" },
      });
      expect(r.stderr).toMatch(/threads fed blocks/);
      const many = JSON.parse(r.stdout);
      expect(many.per_group).toEqual(one.per_group);
      expect(many.loss).toBe(one.loss);
    }
  });

  it("reads the column from the targets table when the predictions are an array", async () => {
    const labels = writeText(
      dir,
      "labels-fold.csv",
      `label,fold\n${Array.from({ length: 360 }, (_, i) => `${LABELS[i]},fold${i % 3}`).join("\n")}\n`,
    );
    const doc = await evalJson([`${ROOT}fixtures/digits/logits.npy`, labels, "--group-by", "fold"]);
    expect(doc.per_group.map((g: Json) => [g.group, g.count])).toEqual([
      ["fold0", 120],
      ["fold1", 120],
      ["fold2", 120],
    ]);
    // The mean of the groups' means, weighted by their rows, is the run's mean.
    const mean = doc.per_group.reduce((s: number, g: Json) => s + g.loss * g.used, 0) / 360;
    expect(Math.abs(mean - doc.loss)).toBeLessThan(1e-15);
  });

  it("--groups FILE: a column of its own (CSV, NPY), lined up row by row; a short or long one is an error", async () => {
    const digits = [`${ROOT}fixtures/digits/logits.npy`, `${ROOT}fixtures/digits/labels.csv`];
    const folds = writeText(
      dir,
      "folds.csv",
      `fold\n${Array.from({ length: 360 }, (_, i) => `fold${i % 3}`).join("\n")}\n`,
    );
    const labels = writeText(
      dir,
      "labels-fold2.csv",
      `label,fold\n${Array.from({ length: 360 }, (_, i) => `${LABELS[i]},fold${i % 3}`).join("\n")}\n`,
    );
    const byColumn = await evalJson([digits[0]!, labels, "--group-by", "fold"]);
    const byFile = await evalJson([...digits, "--groups", folds, "--chunk-rows", "7"]);
    expect(byFile.per_group).toEqual(byColumn.per_group);
    const npy = writeNpy(
      dir,
      "folds.npy",
      Array.from({ length: 360 }, (_, i) => i % 3),
      [360],
      "<i8",
    );
    const byNpy = await evalJson([...digits, "--groups", npy]);
    expect(byNpy.per_group.map((g: Json) => [g.group, g.count, g.loss])).toEqual(
      byColumn.per_group.map((g: Json) => [g.group.slice(4), g.count, g.loss]),
    );
    const short = writeText(dir, "short.csv", `fold\n${Array.from({ length: 359 }, () => "a").join("\n")}\n`);
    await expect(evalJson([...digits, "--groups", short])).rejects.toThrow(
      "the groups file has 359 rows, the predictions more (row 359 has no group)",
    );
    const long = writeText(dir, "long.csv", `fold\n${Array.from({ length: 361 }, () => "a").join("\n")}\n`);
    await expect(evalJson([...digits, "--groups", long])).rejects.toThrow(
      "the groups file has more rows than the predictions",
    );
  });

  it("reads Arrow and Parquet group columns of any type", async () => {
    const doc = await evalJson([`${ROOT}fixtures/parquet/digits_list.parquet`, "--group-by", "id"]);
    expect(doc.per_group).toHaveLength(360);
    expect(doc.per_group[0].group).toBe("img0");
  });

  it("asserts over groups: max_group, min_group, group_gap", async () => {
    const doc = await evalJson([
      all,
      "--group-by",
      "site",
      "--assert",
      "max_group.loss<=100",
      "--assert",
      "min_group.accuracy>=0",
      "--assert",
      "group_gap.accuracy<=0",
    ]);
    const losses = doc.per_group.map((g: Json) => g.loss);
    const accuracies = doc.per_group.map((g: Json) => g.metrics.accuracy);
    expect(doc.assertions).toEqual([
      { expr: "max_group.loss<=100", value: Math.max(...losses), passed: true },
      { expr: "min_group.accuracy>=0", value: Math.min(...accuracies), passed: true },
      {
        expr: "group_gap.accuracy<=0",
        value: Math.max(...accuracies) - Math.min(...accuracies),
        passed: Math.max(...accuracies) === Math.min(...accuracies),
      },
    ]);
  });

  it("--emit-state carries the groups' sums: shards merge to the whole file's per_group bit for bit", async () => {
    const whole = await evalJson([all, "--group-by", "site"]);
    const shards = [rows.slice(0, 100), rows.slice(100, 101), rows.slice(101)].map((part, k) => {
      const file = csv(`shard-${k}.csv`, part, true);
      return runInProcess(["eval", file, "--group-by", "site", "--json", "--emit-state"]).then((r) =>
        writeText(dir, `shard-${k}.json`, r.stdout),
      );
    });
    const files = await Promise.all(shards);
    const merged = JSON.parse((await runMerge(files)).stdout);
    expect(merged.per_group).toEqual(whole.per_group);
    expect(merged.loss).toBe(whole.loss);
    // States of a --group-by run and of a plain one do not merge.
    const plain = writeText(
      dir,
      "plain.json",
      (await runInProcess(["eval", all, "--drop-columns", "site", "--json", "--emit-state"])).stdout,
    );
    await expect(runMerge([files[0]!, plain])).rejects.toThrow(
      /evaluated with no --group-by, .* with --group-by site/,
    );
    // A state whose groups do not add up to its rows is refused.
    const doc = JSON.parse(readFileSync(files[0]!, "utf8"));
    doc.state.groups.pop();
    const edited = writeText(dir, "edited.json", JSON.stringify(doc));
    await expect(runMerge([edited])).rejects.toThrow(/groups' rows or used rows do not add up/);
  });

  it("refuses what it cannot do: group assertions without --group-by, unknown prefixes", async () => {
    await expect(runInProcess(["eval", all, "--assert", "max_group.loss<=1"])).rejects.toThrow(
      "--assert 'max_group.loss<=1': max_group.loss needs --group-by",
    );
    await expect(
      runInProcess(["eval", all, "--group-by", "site", "--assert", "mean_group.loss<=1"]),
    ).rejects.toThrow("'mean_group.' is not a prefix xent knows");
    await expect(runInProcess(["eval", all, "--group-by", "label"])).rejects.toThrow(
      "--group-by: column 'label' is the target column",
    );
  });

  it("shows the groups in the table, worst loss first, --top-groups of them", async () => {
    const r = await runInProcess(["eval", all, "--group-by", "site", "--top-groups", "2"]);
    expect(r.stdout).toMatch(/per site, by loss, worst first \(2 of 5\)/);
    expect(r.stdout).toMatch(/… 3 more groups \(--top-groups 0 shows all\)/);
  });
});

const LABELS = readFileSync(`${ROOT}fixtures/digits/labels.csv`, "utf8").trim().split("\n").slice(1);
