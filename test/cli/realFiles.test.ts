import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tempDir, writeNpy, writeText } from "../helpers/files.js";
import { close, ROOT, runInProcess, xent } from "../helpers/run.js";

/** Files written by pandas (fixtures/pandas/generate.py) and the losses torch computed for them. */
const at = (name: string) => `${ROOT}fixtures/pandas/${name}`;
const expected = JSON.parse(readFileSync(at("expected.json"), "utf8")) as Record<string, number> & {
  sigmoid_row_sums: number[];
};

async function evalJson(args: string[]) {
  const r = await xent(["eval", ...args, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

async function refused(args: string[], message: RegExp) {
  const r = await xent(["eval", ...args]);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(message);
}

describe("files as pandas writes them give torch's number, or an error that says the fix", () => {
  it("reads the integer header pandas writes for logits (0,…,9) and for labels (0) as headers", async () => {
    const doc = await evalJson([at("logits.csv"), at("labels.csv")]);
    expect(doc.counts.rows).toBe(540);
    expect(close(doc.loss, expected.loss!)).toBe(true);
    expect(doc.metrics.accuracy).toBe(expected.accuracy);
    expect(doc.inputs.predictions.shape).toEqual([540, 10]);
  });

  it("settles a labels file's ambiguous '0' from the predictions' row count (NPY and CSV)", async () => {
    for (const predictions of [at("logits.npy"), at("logits_named_ints.csv")]) {
      const doc = await evalJson([predictions, at("labels.csv"), "--smoothing", "0.1"]);
      expect(doc.counts.rows).toBe(540);
      expect(close(doc.loss, expected["loss_smoothing_0.1"]!)).toBe(true);
    }
  });

  it("asks for --targets-header when the labels come on standard input", async () => {
    const labels = readFileSync(at("labels.csv"), "utf8");
    const r = await xent(["eval", at("logits.npy"), "-"], { input: labels });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toMatch(
      /cannot tell whether the first row \('0'\) is a header or data: pass --targets-header if it is a header or --targets-no-header if it is data, <stdin>$/,
    );
    const ok = await xent(["eval", at("logits.npy"), "-", "--targets-header", "--json"], { input: labels });
    expect(close(JSON.parse(ok.stdout).loss, expected.loss!)).toBe(true);
  });

  it("refuses counts that fit neither reading, naming both files and counts", async () => {
    const dir = tempDir();
    const short = writeText(dir, "short.csv", "0\n1\n2\n");
    await refused(
      [at("logits.npy"), short],
      /row counts differ: .*short\.csv has 3 rows \(2 if its first row '0' is a header\), .*logits\.npy has 540$/,
    );
  });

  it("keeps y_pred out of the scores: 10 classes, not 11", async () => {
    const doc = await evalJson([at("extra_columns.csv"), "--target-column", "y_true"]);
    expect(doc.inputs.predictions.shape).toEqual([540, 10]);
    expect(close(doc.loss, expected.loss!)).toBe(true);
    // y_true is found without the flag too.
    expect((await evalJson([at("extra_columns.csv")])).loss).toBe(doc.loss);
  });

  it("takes --score-columns and --drop-columns, and labels / sample_id by name", async () => {
    const picked = await evalJson([at("hf_columns.csv"), "--score-columns", "logit_*", "--per-sample"]);
    expect(close(picked.loss, expected.loss!)).toBe(true);
    expect(picked.inputs.targets.column).toBe("labels");
    expect(picked.per_sample[3].id).toBe("img3");
    const dropped = await evalJson([at("hf_columns.csv"), "--drop-columns", "confidence"]);
    expect(dropped.loss).toBe(picked.loss);
    const ranged = await evalJson([at("hf_columns.csv"), "--score-columns", "1:11"]);
    expect(ranged.loss).toBe(picked.loss);
  });

  it("carries the targets file's ids (pandas' index) into per-sample output", async () => {
    const doc = await evalJson([at("logits.npy"), at("labels_indexed.csv"), "--per-sample"]);
    expect(doc.per_sample[0].id).toBe("s000");
    expect(doc.per_sample[539].id).toBe("s539");
  });

  it("refuses sigmoid outputs passed as probabilities, naming the row and the sum", async () => {
    await refused(
      [at("sigmoid.csv"), at("sigmoid_labels.csv"), "--input-type", "probs"],
      new RegExp(
        `the row's probabilities sum to ${expected.sigmoid_row_sums[0]}, not 1 \\(±0\\.001\\); sigmoid outputs\\? use --task multilabel, .*sigmoid\\.csv line 2 \\(row 0\\)$`,
      ),
    );
  });

  it("refuses multi-hot targets, saying multilabel", async () => {
    await refused(
      [at("multi_logits.csv"), at("multi_hot.csv")],
      /target probabilities sum to 3, not 1 \(±0\.001\); multi-hot targets\? use --task multilabel, .*multi_hot\.csv line 2 \(row 0\)$/,
    );
  });

  it("warns once when logits look like probabilities, and --quiet silences it", async () => {
    const r = await xent(["eval", at("softmax.csv"), at("labels.csv"), "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^xent: warning: every row of .*softmax\.csv lies in \[0, 1\] and sums to 1: .*--input-type probs/,
    );
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(close(JSON.parse(r.stdout).loss, expected.softmax_as_logits_loss!)).toBe(true);
    expect((await xent(["eval", at("softmax.csv"), at("labels.csv"), "--quiet"])).stderr).toBe("");
    const probs = await evalJson([at("softmax.csv"), at("labels.csv"), "--input-type", "probs"]);
    expect(close(probs.loss, expected.probs_loss!)).toBe(true);
  });

  it("warns on worker threads too (direct NPY path)", async () => {
    const dir = tempDir();
    const p = [0.2, 0.8, 0.5, 0.5, 1, 0];
    const r = await xent(
      ["eval", writeNpy(dir, "p.npy", p, [3, 2], "<f4"), writeNpy(dir, "y.npy", [1, 0, 0], [3], "<i8")],
      { env: { XENT_PARALLEL_MIN_BYTES: "1" } },
    );
    expect(r.stderr).toMatch(/^xent: warning: every row of .*p\.npy lies in \[0, 1\]/);
  });

  it("lists the columns when no target column is found", async () => {
    await refused([at("logits.csv")], /no targets: .*; its columns are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9$/);
  });

  it("refuses --top-k k ≥ C", async () => {
    await refused(
      [at("logits.npy"), at("labels.csv"), "--top-k", "10"],
      /--top-k 10: k must be below the number of classes \(10\)/,
    );
  });

  it("says --format csv has no per-class table", async () => {
    const r = await xent(["eval", at("logits.npy"), at("labels.csv"), "--format", "csv", "--per-class"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^xent: warning: --format csv prints per-sample rows only/);
  });

  it("inspects a targets file", async () => {
    const r = await xent(["inspect", at("labels_indexed.csv"), "--json"]);
    expect(JSON.parse(r.stdout)).toMatchObject({
      role: "targets",
      rows: 540,
      target: { column: "label", kind: "index" },
    });
    const npy = await xent(["inspect", `${ROOT}fixtures/formats/labels.npy`]);
    expect(npy.stdout).toMatch(/read as\s+targets/);
  });

  it("shows prediction-named columns as unused in inspect", async () => {
    const doc = JSON.parse((await xent(["inspect", at("extra_columns.csv"), "--json"])).stdout);
    expect(doc.columns.find((c: { name: string }) => c.name === "y_pred").role).toBe("unused");
  });
});

describe("a pandas-written frame round-trips to the NPY's loss", () => {
  const dir = tempDir();
  let serial = 0;
  /** As pandas writes a float: repr, which always has a '.' or an exponent. */
  const pandasFloat = (x: number) => (Number.isInteger(x) ? x.toFixed(1) : String(x));
  it("for any integer column names, with and without pandas' index", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 6 }).chain((C) =>
          fc.record({
            C: fc.constant(C),
            names: fc.uniqueArray(fc.nat(1000), { minLength: C, maxLength: C }),
            rows: fc.array(
              fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: C, maxLength: C }),
              {
                minLength: 1,
                maxLength: 20,
              },
            ),
            index: fc.boolean(),
            positions: fc.boolean(),
          }),
        ),
        async ({ C, names, rows, index, positions }) => {
          const header = positions ? names.map((_, i) => i) : names;
          const id = serial++;
          const lines = [
            [...(index ? [""] : []), ...header].join(","),
            ...rows.map((r, i) => [...(index ? [String(i)] : []), ...r.map(pandasFloat)].join(",")),
          ];
          const csv = writeText(dir, `f${id}.csv`, `${lines.join("\n")}\n`);
          const labels = rows.map((_, i) => i % C);
          const y = writeNpy(dir, `y${id}.npy`, labels, [rows.length], "<i8");
          const npy = writeNpy(dir, `x${id}.npy`, rows.flat(), [rows.length, C]);
          const fromCsv = await runInProcess(["eval", csv, y, "--json"]);
          const fromNpy = await runInProcess(["eval", npy, y, "--json"]);
          expect(fromCsv.code).toBe(0);
          expect(JSON.parse(fromCsv.stdout).loss).toBe(JSON.parse(fromNpy.stdout).loss);
          expect(JSON.parse(fromCsv.stdout).counts.rows).toBe(rows.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});
