import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tempDir, writeNpy, writeText } from "./helpers/files.js";
import { runInProcess } from "./helpers/run.js";

const dir = tempDir();
let serial = 0;

const problem = fc
  .record({ N: fc.integer({ min: 1, max: 40 }), C: fc.integer({ min: 2, max: 8 }) })
  .chain(({ N, C }) =>
    fc.record({
      N: fc.constant(N),
      C: fc.constant(C),
      logits: fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: N * C, maxLength: N * C }),
      targets: fc.array(fc.oneof(fc.integer({ min: 0, max: C - 1 }), fc.constant(-100)), {
        minLength: N,
        maxLength: N,
      }),
      weights: fc.option(
        fc.array(fc.double({ min: 0.01, max: 5, noNaN: true }), { minLength: C, maxLength: C }),
      ),
      smoothing: fc.constantFrom(0, 0.1, 0.35),
      style: fc.constantFrom("uniform", "others"),
    }),
  )
  .filter((p) => p.targets.some((t) => t !== -100));

describe("chunk size never changes a number", () => {
  it("gives bit-identical JSON for --chunk-rows 1, 7 and all rows (NPY)", async () => {
    await fc.assert(
      fc.asyncProperty(problem, async (p) => {
        const id = serial++;
        const logits = writeNpy(dir, `l${id}.npy`, p.logits, [p.N, p.C]);
        const targets = writeNpy(dir, `t${id}.npy`, p.targets, [p.N], "<i8");
        const args = ["eval", logits, targets, "--json", "--per-class", "--worst", "5"];
        // k must be below C (top-C accuracy is always 1).
        if (p.C > 2) args.push("--top-k", "2");
        args.push("--smoothing", String(p.smoothing), "--smoothing-style", p.style);
        if (p.weights) args.push("--class-weights", p.weights.join(","));
        const outputs = await Promise.all(
          [1, 7, p.N].map((rows) =>
            runInProcess([...args, "--chunk-rows", String(rows)]).then((r) => r.stdout),
          ),
        );
        expect(outputs[1]).toBe(outputs[0]);
        expect(outputs[2]).toBe(outputs[0]);
      }),
      { numRuns: 40 },
    );
  });

  it("gives bit-identical per-sample JSON for --chunk-rows 1, 7 and all rows (CSV)", async () => {
    await fc.assert(
      fc.asyncProperty(problem, async (p) => {
        const id = serial++;
        const lines = Array.from({ length: p.N }, (_, i) =>
          [...p.logits.slice(i * p.C, (i + 1) * p.C).map(String), p.targets[i]].join(","),
        );
        const header = [...Array.from({ length: p.C }, (_, c) => `c${c}`), "label"].join(",");
        const file = writeText(dir, `p${id}.csv`, `${header}\n${lines.join("\n")}\n`);
        const args = ["eval", file, "--json", "--per-sample", "--per-class"];
        const outputs = await Promise.all(
          [1, 7, p.N].map((rows) =>
            runInProcess([...args, "--chunk-rows", String(rows)]).then((r) => r.stdout),
          ),
        );
        expect(outputs[1]).toBe(outputs[0]);
        expect(outputs[2]).toBe(outputs[0]);
      }),
      { numRuns: 25 },
    );
  });
});
