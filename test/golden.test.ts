import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { close, evalJson, type Json, ROOT } from "./helpers/run.js";

interface GoldenCase {
  name: string;
  args: string[];
  expected: {
    counts: Record<string, number>;
    loss: number | null;
    metrics: Record<string, number | null>;
    per_sample_loss?: (number | null)[];
    per_class?: Record<string, number | null>[];
  };
}

const load = (path: string) => JSON.parse(readFileSync(`${ROOT}${path}`, "utf8")) as { cases: GoldenCase[] };
const golden = load("fixtures/golden/cases.json");
const tasks = load("fixtures/tasks/cases.json");

function expectClose(actual: number | null, expected: number | null, what: string) {
  if (!close(actual, expected)) expect.fail(`${what}: xent ${actual}, PyTorch ${expected}`);
}

describe("golden cases from PyTorch float64 and scikit-learn (fixtures/golden/generate.py)", () => {
  it("has the full grid and the edge cases", () => {
    expect(golden.cases.length).toBeGreaterThan(240);
  });

  it("has binary and multilabel cases (fixtures/tasks/generate.py)", () => {
    expect(tasks.cases.length).toBeGreaterThan(20);
  });

  for (const c of [...golden.cases, ...tasks.cases]) {
    it(c.name, async () => {
      const doc: Json = await evalJson(c.args);
      expect(doc.schema).toBe("xent.eval/1");
      expect(doc.counts).toEqual(c.expected.counts);
      expectClose(doc.loss, c.expected.loss, "loss");
      expect(Object.keys(doc.metrics).sort()).toEqual(Object.keys(c.expected.metrics).sort());
      for (const [name, value] of Object.entries(c.expected.metrics))
        expectClose(doc.metrics[name], value, name);
      if (c.expected.per_sample_loss) {
        const losses = doc.per_sample.map((s: Json) => s.loss);
        expect(losses.length).toBe(c.expected.per_sample_loss.length);
        c.expected.per_sample_loss.forEach((v, i) => {
          expectClose(losses[i], v, `per_sample[${i}].loss`);
        });
      }
      if (c.expected.per_class) {
        c.expected.per_class.forEach((row, k) => {
          for (const [field, value] of Object.entries(row)) {
            expectClose(doc.per_class[k][field], value as number | null, `per_class[${k}].${field}`);
          }
        });
      }
    });
  }
});
