import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tempDir, writeText } from "../helpers/files.js";
import { type Json, ROOT, runInProcess, xent } from "../helpers/run.js";

const dir = tempDir();
const lines = readFileSync(`${ROOT}fixtures/formats/preds.csv`, "utf8").trimEnd().split("\n");
const header = lines[0]!;
const data = lines.slice(1);
const shard = (name: string, from: number, to: number) =>
  writeText(dir, name, `${header}\n${data.slice(from, to).join("\n")}\n`);
const OPTIONS = [
  "--per-class",
  "--worst",
  "6",
  "--top-k",
  "2",
  "--smoothing",
  "0.1",
  "--class-weights",
  "1,2,0.5,1,3",
];

async function evalDoc(file: string, extra: string[] = []): Promise<Json> {
  return JSON.parse((await runInProcess(["eval", file, "--json", ...OPTIONS, ...extra])).stdout);
}

describe("xent merge", () => {
  it("gives, from shards' --emit-state documents, the numbers of one evaluation over all rows, bit for bit", async () => {
    const whole = await evalDoc(`${ROOT}fixtures/formats/preds.csv`);
    const parts = [shard("a.csv", 0, 10), shard("b.csv", 10, 31), shard("c.csv", 31, data.length)];
    const states = [];
    for (const [i, p] of parts.entries()) {
      const doc = await evalDoc(p, ["--emit-state"]);
      expect(doc.state.version).toBe(1);
      states.push(writeText(dir, `s${i}.json`, JSON.stringify(doc)));
    }
    const merged = JSON.parse((await runInProcess(["merge", ...states, "--json"])).stdout);
    for (const key of ["counts", "loss", "metrics", "per_class", "per_sample", "options"]) {
      expect(merged[key]).toEqual(whole[key]);
    }
    expect(merged.inputs.predictions.shape).toEqual([48, 5]);
    // Merging merges: the first two, then with the third.
    const ab = JSON.parse(
      (await runInProcess(["merge", states[0]!, states[1]!, "--json", "--emit-state"])).stdout,
    );
    const abFile = writeText(dir, "ab.json", JSON.stringify(ab));
    const again = JSON.parse((await runInProcess(["merge", abFile, states[2]!, "--json"])).stdout);
    expect(again.loss).toBe(whole.loss);
    expect(again.per_sample).toEqual(whole.per_sample);
  });

  it("checks assertions and prints a table like eval", async () => {
    const s = writeText(
      dir,
      "one.json",
      JSON.stringify(await evalDoc(shard("d.csv", 0, 48), ["--emit-state"])),
    );
    const r = await xent(["merge", s, "--assert", "loss<0.1"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}loss<0\.1/m);
    expect(r.stdout).toMatch(/^per class, by class$/m);
  });

  it("refuses states of different evaluations, and documents without a state", async () => {
    const a = writeText(
      dir,
      "x.json",
      JSON.stringify(await evalDoc(shard("e.csv", 0, 20), ["--emit-state"])),
    );
    const other = JSON.parse(
      (await runInProcess(["eval", shard("f.csv", 20, 48), "--json", "--emit-state"])).stdout,
    );
    const b = writeText(dir, "y.json", JSON.stringify(other));
    const mixed = await xent(["merge", a, b]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(
      /^xent: error: .*y\.json was evaluated with no --per-class, .*x\.json with --per-class; only states of one evaluation merge$/m,
    );
    const plain = writeText(dir, "plain.json", JSON.stringify(await evalDoc(shard("g.csv", 0, 5))));
    const none = await xent(["merge", plain]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /no state in this document: evaluate with --emit-state --json, .*plain\.json\n$/,
    );
    const usage = await xent(["eval", `${ROOT}fixtures/formats/preds.csv`, "--emit-state"]);
    expect(usage.stderr).toMatch(/--emit-state goes with --format json/);
  });
});
