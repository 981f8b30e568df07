import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { tempDir, writeNpy, writeText } from "../helpers/files.js";
import { type Json, ROOT, runInProcess } from "../helpers/run.js";

/** `xent compare`: deltas exactly as two evals give them, intervals independent of how rows are read. */
const dir = tempDir();
const logits = `${ROOT}fixtures/digits/logits.npy`;
const labels = `${ROOT}fixtures/digits/labels.csv`;
// A candidate: the digits logits scaled and nudged (deterministically).
const base = (() => {
  const b = readFileSync(logits);
  const at = 10 + b.readUInt16LE(8);
  return new Float32Array(b.buffer.slice(b.byteOffset + at, b.byteOffset + b.length));
})();
const candidate = writeNpy(
  dir,
  "cand.npy",
  Array.from(base, (x, i) => x * 1.3 + Math.sin(i) * 0.3),
  [360, 10],
  "<f4",
);

const json = async (args: string[]): Promise<Json> =>
  JSON.parse((await runInProcess([...args, "--json"])).stdout);

const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addSchema(JSON.parse(readFileSync(`${ROOT}schema/xent.eval.schema.json`, "utf8")));
ajv.addSchema(JSON.parse(readFileSync(`${ROOT}schema/xent.compare.schema.json`, "utf8")));
const validCompare = ajv.getSchema("https://xent.dev/schema/xent.compare.schema.json")!;
function expectValid(doc: Json) {
  if (!validCompare(doc)) expect.fail(ajv.errorsText(validCompare.errors));
}

describe("xent compare", () => {
  it("reports each side and delta = candidate − baseline exactly as two evals give them", async () => {
    const doc = await json(["compare", logits, candidate, labels, "--smoothing", "0.1"]);
    const b = await json(["eval", logits, labels, "--smoothing", "0.1"]);
    const c = await json(["eval", candidate, labels, "--smoothing", "0.1"]);
    expect(doc.schema).toBe("xent.compare/1");
    expectValid(doc);
    expect(doc.baseline).toEqual({ counts: b.counts, loss: b.loss, metrics: b.metrics });
    expect(doc.candidate).toEqual({ counts: c.counts, loss: c.loss, metrics: c.metrics });
    expect(doc.delta.loss.value).toBe(c.loss - b.loss);
    for (const [name, v] of Object.entries(c.metrics as Record<string, number>))
      expect(doc.delta[name].value).toBe(v - b.metrics[name]);
    // Intervals for loss, nll, perplexity, accuracy, brier; none for entropy and ece.
    for (const name of ["loss", "nll", "perplexity", "accuracy", "brier"]) {
      const d = doc.delta[name];
      expect(d.low).toBeLessThanOrEqual(d.high);
      expect(d.level).toBe(0.95);
    }
    expect(doc.delta.ece.low).toBeNull();
    expect(doc.delta.accuracy.mcnemar).toMatchObject({ baseline_only: expect.any(Number) });
    expect(doc.bootstrap).toEqual({ resamples: 1000, confidence: 0.95, seed: 0 });
  });

  it("gives the same bits for any --chunk-rows, and other intervals for another --seed", async () => {
    const a = await json(["compare", logits, candidate, labels]);
    const b = await json(["compare", logits, candidate, labels, "--chunk-rows", "7"]);
    expect(b.delta).toEqual(a.delta);
    const other = await json(["compare", logits, candidate, labels, "--seed", "1"]);
    expect(other.delta.loss.value).toBe(a.delta.loss.value);
    expect(other.delta.loss.low).not.toBe(a.delta.loss.low);
  });

  it("compares a model with itself: every delta 0, intervals [0, 0], McNemar p = 1", async () => {
    const doc = await json(["compare", logits, logits, labels, "--resamples", "50"]);
    expect(doc.delta.loss).toMatchObject({ value: 0, low: 0, high: 0 });
    expect(doc.delta.accuracy.mcnemar).toEqual({ baseline_only: 0, candidate_only: 0, p_value: 1 });
  });

  it("asserts on deltas, their interval's ends, and the candidate's metrics", async () => {
    const r = await runInProcess([
      "compare",
      logits,
      candidate,
      labels,
      "--json",
      "--assert",
      "delta.loss<=0",
      "--assert",
      "delta.loss.high<=0",
      "--assert",
      "delta.accuracy.low>=0.5",
      "--assert",
      "accuracy>=0.5",
    ]);
    const doc = JSON.parse(r.stdout);
    expectValid(doc);
    expect(doc.assertions.map((a: Json) => a.passed)).toEqual([
      doc.delta.loss.value <= 0,
      doc.delta.loss.high <= 0,
      false,
      true,
    ]);
    expect(r.code).toBe(1);
    await expect(
      runInProcess(["compare", logits, candidate, labels, "--assert", "delta.bogus<=1"]),
    ).rejects.toThrow(/compare asserts on delta.METRIC/);
  });

  it("refuses predictions of other rows: a row count, the targets, the ids", async () => {
    const short = writeNpy(dir, "short.npy", Array.from(base.subarray(0, 3590)), [359, 10], "<f4");
    await expect(runInProcess(["compare", logits, short, labels])).rejects.toThrow(/row/);
    const a = writeText(dir, "a.csv", "id,c0,c1,label\nx,1,0,0\ny,0,1,1\n");
    const b = writeText(dir, "b.csv", "id,c0,c1,label\nx,1,0,0\nz,0,1,1\n");
    await expect(runInProcess(["compare", a, b])).rejects.toThrow(
      "row ids differ: 'z' where the baseline has 'y' (compare pairs rows by position)",
    );
    const c = writeText(dir, "c.csv", "id,c0,c1,label\nx,1,0,0\ny,0,1,0\n");
    await expect(runInProcess(["compare", a, c])).rejects.toThrow(/different targets here/);
  });

  it("--group-by / --groups: per-group sides as eval --group-by gives them, their deltas and intervals", async () => {
    const folds = writeText(
      dir,
      "folds.csv",
      `fold\n${Array.from({ length: 360 }, (_, i) => `f${i % 3}`).join("\n")}\n`,
    );
    const doc = await json(["compare", logits, candidate, labels, "--groups", folds, "--resamples", "200"]);
    const b = await json(["eval", logits, labels, "--groups", folds]);
    const c = await json(["eval", candidate, labels, "--groups", folds]);
    expect(doc.per_group.map((g: Json) => g.group)).toEqual(["f0", "f1", "f2"]);
    expectValid(doc);
    doc.per_group.forEach((g: Json, i: number) => {
      expect(g.baseline).toEqual({ loss: b.per_group[i].loss, metrics: b.per_group[i].metrics });
      expect(g.candidate).toEqual({ loss: c.per_group[i].loss, metrics: c.per_group[i].metrics });
      expect(g.delta.loss.value).toBe(c.per_group[i].loss - b.per_group[i].loss);
      expect(g.delta.loss.low).toBeLessThanOrEqual(g.delta.loss.high);
    });
    const again = await json([
      "compare",
      logits,
      candidate,
      labels,
      "--groups",
      folds,
      "--resamples",
      "200",
      "--chunk-rows",
      "11",
    ]);
    expect(again.per_group).toEqual(doc.per_group);
  });

  it("--emit-state shards with --first-row merge to the whole file's comparison bit for bit", async () => {
    const labelRows = readFileSync(labels, "utf8").trim().split("\n").slice(1);
    const cand = new Float32Array(Array.from(base, (x, i) => x * 1.3 + Math.sin(i) * 0.3));
    const cut = [0, 200, 201, 360];
    const files: string[] = [];
    for (let k = 0; k < 3; k++) {
      const [from, to] = [cut[k]!, cut[k + 1]!];
      const b = writeNpy(
        dir,
        `b${k}.npy`,
        Array.from(base.subarray(from * 10, to * 10)),
        [to - from, 10],
        "<f4",
      );
      const c = writeNpy(
        dir,
        `c${k}.npy`,
        Array.from(cand.subarray(from * 10, to * 10)),
        [to - from, 10],
        "<f4",
      );
      const y = writeText(dir, `y${k}.csv`, `label\n${labelRows.slice(from, to).join("\n")}\n`);
      const r = await runInProcess([
        "compare",
        b,
        c,
        y,
        "--json",
        "--emit-state",
        "--first-row",
        String(from),
        "--resamples",
        "300",
      ]);
      expectValid(JSON.parse(r.stdout));
      files.push(writeText(dir, `shard${k}.json`, r.stdout));
    }
    const whole = await json(["compare", logits, candidate, labels, "--resamples", "300"]);
    const merged = JSON.parse((await runInProcess(["merge", ...files, "--json"])).stdout);
    expect(merged.delta).toEqual(whole.delta);
    expect(merged.baseline).toEqual(whole.baseline);
    expect(merged.candidate).toEqual(whole.candidate);
    // Out of order, or without --first-row, the shards are another file: refused.
    await expect(runInProcess(["merge", files[1]!, files[0]!, "--json"])).rejects.toThrow(
      /starts at row 0, where the shards before it end at row 201/,
    );
  });

  it("prints a side-by-side table and Markdown with a verdict word", async () => {
    const table = (await runInProcess(["compare", logits, candidate, labels])).stdout;
    expect(table).toMatch(/metric\s+baseline\s+candidate\s+delta\s+95% interval\s+p/);
    expect(table).toMatch(/^loss .*(better|worse|no difference)$/m);
    const md = (await runInProcess(["compare", logits, candidate, labels, "--format", "markdown"])).stdout;
    expect(md.startsWith("### xent compare\n")).toBe(true);
    expect(md).toMatch(/\| loss \| 0\.21823 \|/);
  });
});
