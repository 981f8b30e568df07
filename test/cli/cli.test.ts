import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { tempDir, writeNpy, writeText } from "../helpers/files.js";
import { BIN, ROOT, xent } from "../helpers/run.js";

const DIGITS = ["fixtures/digits/logits.npy", "fixtures/digits/labels.csv"];

describe("xent eval through the built binary", () => {
  it("prints the README's summary table for the digits fixture", async () => {
    const r = await xent(["eval", ...DIGITS, "--smoothing", "0.1"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("predictions  fixtures/digits/logits.npy  npy · float32 · 360 × 10");
    expect(r.stdout).toContain("rows         360  (360 used · 0 ignored)");
    expect(r.stdout).toMatch(/^loss +0\.74635$/m);
    expect(r.stdout).toMatch(/^accuracy +0\.95556$/m);
    expect(r.stdout).not.toContain("\x1b[");
  });

  it("exits 0 when every --assert holds and 1 when one fails, reporting all of them", async () => {
    const pass = await xent([
      "eval",
      ...DIGITS,
      "--json",
      "--assert",
      "loss<=0.3",
      "--assert",
      "accuracy>=0.9",
    ]);
    expect(pass.code).toBe(0);
    expect(JSON.parse(pass.stdout).assertions).toEqual([
      { expr: "loss<=0.3", value: expect.any(Number), passed: true },
      { expr: "accuracy>=0.9", value: expect.any(Number), passed: true },
    ]);
    const fail = await xent(["eval", ...DIGITS, "--assert", "loss < 0.1", "--assert", "ece<0.5"]);
    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/^FAIL {2}loss<0\.1 {2}0\.21823$/m);
    expect(fail.stdout).toMatch(/^PASS {2}ece<0\.5 {3}0\.0/m);
  });

  it("prints usage with examples for --help and the version for --version", async () => {
    const help = await xent(["eval", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: xent eval [options] <predictions> [targets]");
    expect(help.stdout).toContain("--smoothing-style <style>");
    expect(help.stdout).toContain("Examples:");
    const version = await xent(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("exits 2 with a usage line when no command is given", async () => {
    const r = await xent([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^xent: error: no command given/);
  });

  it("ends quietly with exit 0 when stdout closes early (| head -1)", () => {
    const dir = tempDir();
    const N = 200_000;
    const logits = writeNpy(
      dir,
      "l.npy",
      Float64Array.from({ length: N * 3 }, (_, i) => Math.sin(i)),
      [N, 3],
    );
    const targets = writeNpy(
      dir,
      "t.npy",
      Float64Array.from({ length: N }, (_, i) => i % 3),
      [N],
      "<i8",
    );
    const r = spawnSync(
      "bash",
      [
        "-c",
        `node ${BIN} eval ${logits} ${targets} --per-sample --json | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`,
      ],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    expect(r.stdout).toBe("{\n");
    expect(r.stderr).toBe("exit=0\n");
  });

  it("streams every sample with --reduction none, the mean in `loss`", async () => {
    const r = await xent(["eval", ...DIGITS, "--reduction", "none", "--json"]);
    const doc = JSON.parse(r.stdout);
    expect(doc.per_sample).toHaveLength(360);
    expect(doc.per_sample[0]).toEqual({
      index: 0,
      target: expect.any(Number),
      loss: expect.any(Number),
      nll: expect.any(Number),
      pred: expect.any(Number),
      p_target: expect.any(Number),
      ignored: false,
    });
    const mean = doc.per_sample.reduce((s: number, x: { loss: number }) => s + x.loss, 0) / 360;
    expect(doc.loss).toBeCloseTo(mean, 12);
  });

  it("lists the K worst rows, largest loss first", async () => {
    const r = await xent(["eval", ...DIGITS, "--worst", "3", "--json"]);
    const worst = JSON.parse(r.stdout).per_sample;
    expect(worst).toHaveLength(3);
    expect(worst[0].loss).toBeGreaterThanOrEqual(worst[1].loss);
    expect(worst[1].loss).toBeGreaterThanOrEqual(worst[2].loss);
  });
});

describe("class names, ids and target kinds", () => {
  const G = "fixtures/golden/data";

  it("labels per-class rows with --class-names and matches name targets against them", async () => {
    const r = await xent([
      "eval",
      `${G}/logits.npy`,
      `${G}/y_names.csv`,
      "--class-names",
      "cat,dog,emu,fox,gnu",
      "--per-class",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.per_class.map((c: { name: string }) => c.name)).toEqual(["cat", "dog", "emu", "fox", "gnu"]);
    expect(doc.inputs.targets.kind).toBe("name");
  });

  it("carries --id-column values into per-sample output", async () => {
    const r = await xent([
      "eval",
      `${G}/preds_ids.tsv`,
      `${G}/soft.csv`,
      "--id-column",
      "id",
      "--per-sample",
      "--json",
    ]);
    const doc = JSON.parse(r.stdout);
    expect(doc.per_sample[3]).toMatchObject({ index: 3, id: "s3" });
    expect(Object.keys(doc.per_sample[3]).slice(0, 2)).toEqual(["index", "id"]);
  });

  it("refuses --target-type probs for a one-column targets file", async () => {
    const r = await xent(["eval", `${G}/logits.npy`, `${G}/y_ignore.csv`, "--target-type", "probs"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /targets need 1 column \(class index or name\) or 5 columns \(probabilities\), found 1/,
    );
  });
});

describe("a targets file next to a predictions CSV", () => {
  it("takes --target-column from the targets file, not the predictions", async () => {
    const dir = tempDir();
    // Not one-hot rows: those would (rightly) be warned about as probabilities read as logits.
    const preds = writeText(dir, "p.csv", "a,b\n0,2\n1,0\n");
    const targets = writeText(dir, "t.csv", "id,truth\nx,1\ny,1\n");
    const r = await xent(["eval", preds, targets, "--target-column", "truth", "--json"]);
    expect(r.stderr).toBe("");
    const doc = JSON.parse(r.stdout);
    expect(doc.inputs.targets).toMatchObject({ kind: "index", column: "truth" });
    expect(doc.metrics.accuracy).toBe(0.5);
  });

  it("keeps a label column of the predictions out of the scores", async () => {
    const dir = tempDir();
    const preds = writeText(dir, "p.csv", "a,b,label\n0,1,0\n1,0,0\n");
    const targets = writeText(dir, "t.csv", "1\n1\n");
    const doc = JSON.parse((await xent(["eval", preds, targets, "--json"])).stdout);
    expect(doc.inputs.predictions.shape).toEqual([2, 2]);
    expect(doc.metrics.accuracy).toBe(0.5);
  });
});
