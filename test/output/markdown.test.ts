import { describe, expect, it } from "vitest";
import { cell, markdownTable } from "../../src/output/markdown.js";
import { ROOT, runInProcess } from "../helpers/run.js";

const digits = [`${ROOT}fixtures/digits/logits.npy`, `${ROOT}fixtures/digits/labels.csv`];

describe("--format markdown", () => {
  it("prints the numbers, the assertions with their marks, and folds per-class rows", async () => {
    const r = await runInProcess([
      "eval",
      ...digits,
      "--format",
      "markdown",
      "--per-class",
      "--class-names",
      "zero,one,two,three,four,five,six,seven,eight,nine",
      "--assert",
      "loss<=0.3",
      "--assert",
      "accuracy>=0.99",
    ]);
    expect(r.code).toBe(1);
    const md = r.stdout;
    expect(md.startsWith("### xent eval ❌ 1 failed\n")).toBe(true);
    expect(md).toContain("| **loss** | **0.21823** |");
    expect(md).toContain("| ✅ | `loss<=0.3` | 0.21823 |");
    expect(md).toContain("| ❌ | `accuracy>=0.99` | 0.95556 |");
    expect(md).toContain("<details><summary>per class</summary>");
    expect(md).toContain("| 8 | eight | 35 | 0.48907 | 0.85714 | 0.85714 |");
    // Every table's rule has as many cells as its head.
    for (const table of md.split("\n\n").filter((p) => p.startsWith("| "))) {
      const [head, rule] = table.split("\n");
      expect(rule!.split("|").length).toBe(head!.split("|").length);
    }
  });

  it("says ✅ when every assertion passes, and nothing without assertions", async () => {
    const pass = await runInProcess(["eval", ...digits, "--format", "markdown", "--assert", "loss<1"]);
    expect(pass.stdout.startsWith("### xent eval ✅\n")).toBe(true);
    const none = await runInProcess(["eval", ...digits, "--format", "markdown"]);
    expect(none.stdout.startsWith("### xent eval\n")).toBe(true);
  });

  it("escapes pipes and line breaks in cells", () => {
    expect(cell("a|b\nc")).toBe("a\\|b c");
    expect(
      markdownTable(
        [
          ["x|y", "n"],
          ["1", "2"],
        ],
        [false, true],
      ),
    ).toBe("| x\\|y | n |\n| --- | ---: |\n| 1 | 2 |");
  });

  it("refuses per-sample output", async () => {
    await expect(runInProcess(["eval", ...digits, "--format", "markdown", "--per-sample"])).rejects.toThrow(
      "--format markdown prints the summary",
    );
  });
});
