import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateBlock } from "../../src/core/evaluateBlock.js";
import { allocRowResults, type RowResults } from "../../src/core/rowResults.js";
import type { LossOptions, RowBlock } from "../../src/core/types.js";
import { WasmKernel, wasmHandles } from "../../src/core/wasmKernel.js";
import { expectAgreement } from "../helpers/agree.js";
import { DEFAULT_OPTIONS } from "../helpers/options.js";

const base: LossOptions = { ...DEFAULT_OPTIONS, onNan: "skip" };

function results(rows: number): RowResults {
  const r = allocRowResults(rows);
  r.rows = rows;
  return r;
}

const FIELDS = ["loss", "weight", "nll", "entropy", "brier", "confidence", "pTarget"] as const;
const INTS = ["status", "pred", "target", "rank"] as const;

/** Both kernels on one block: integers equal, floats within 1e-6 relative (1e-12 absolute near 0). */
function agree(block: RowBlock, options: LossOptions) {
  const ts = results(block.rows);
  const wasm = results(block.rows);
  evaluateBlock(block, options, ts);
  new WasmKernel(options).evaluate(block, wasm);
  expectAgreement(block, wasm, ts, { floats: FIELDS, ints: INTS }, { relative: 1e-6, absolute: 1e-12 });
}

function block(values: number[], C: number, targets: number[], f32: boolean): RowBlock {
  return {
    start: 0,
    rows: targets.length,
    classes: C,
    scores: f32 ? Float32Array.from(values) : Float64Array.from(values),
    targets: { kind: "index", values: Float64Array.from(targets) },
  };
}

const logit = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -30, max: 30, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e-300, -1e-300, 700, -700, 3.4e38, -3.4e38) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NEGATIVE_INFINITY, Number.NaN) },
);

const problem = fc.record({
  C: fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17), fc.integer({ min: 1, max: 300 })),
  rows: fc.integer({ min: 1, max: 12 }),
  f32: fc.boolean(),
  smoothing: fc.constantFrom(0, 0.1, 0.5, 1),
  style: fc.constantFrom("uniform", "others") as fc.Arbitrary<"uniform" | "others">,
  weighted: fc.boolean(),
  seed: fc.integer(),
});

describe("the WebAssembly kernel agrees with the TypeScript kernel", () => {
  it("is available here (Node 20 has WebAssembly SIMD)", () => {
    expect(wasmHandles(base)).toBe(true);
  });

  it("on random and adversarial rows (huge, tiny, −inf, NaN, C = 1, C not a multiple of the SIMD width)", () => {
    fc.assert(
      fc.property(problem, fc.infiniteStream(logit), (p, stream) => {
        if (p.style === "others" && p.C === 1) return;
        const values = [...stream.take(p.rows * p.C)];
        const targets = Array.from({ length: p.rows }, (_, r) =>
          r === 1 ? -100 : Math.abs(p.seed + r * 7919) % p.C,
        );
        const weights = p.weighted ? Float64Array.from({ length: p.C }, (_, c) => ((c * 37) % 11) / 4) : null;
        agree(block(values, p.C, targets, p.f32), {
          ...base,
          smoothing: p.smoothing,
          smoothingStyle: p.style,
          classWeights: weights,
        });
      }),
      { numRuns: Number(process.env.XENT_FUZZ_RUNS ?? 400) },
    );
  });

  it("on ties with the target, and a row whose maximum is repeated", () => {
    agree(block([1, 5, 5, 0, 5, 2, 2, 2, 2], 9, [2], false), base);
    agree(block([3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3], 11, [7], true), { ...base, smoothing: 0.2 });
  });

  it("on quantized scores (fp16-like), where the target ties with many classes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 37 * 5, maxLength: 37 * 5 }),
        fc.array(fc.integer({ min: 0, max: 36 }), { minLength: 5, maxLength: 5 }),
        fc.boolean(),
        (values, targets, f32) =>
          agree(
            block(
              values.map((v) => v / 2),
              37,
              targets,
              f32,
            ),
            { ...base, topK: [3] },
          ),
      ),
    );
  });

  it("on confident float32 rows, where the float32 polynomial's error shows most (the rest 8 to 40 below the maximum)", () => {
    // S − 1, T and Q − 1 come only from the small terms; their relative error is the polynomial's.
    for (const [gap, spread] of [
      [8, 1],
      [20, 0.5],
      [15, 0.01],
      [40, 10],
    ] as const) {
      const C = 1_000;
      const rows = 20;
      const values: number[] = [];
      const targets: number[] = [];
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < C; c++)
          values.push(1.5 + Math.sin(r * 7.1 + c * 0.37) * spread + (c === r * 13 ? gap : 0));
        targets.push(r % 3 === 0 ? (r * 29) % C : r * 13);
      }
      for (const smoothing of [0, 0.1]) agree(block(values, C, targets, true), { ...base, smoothing });
    }
  });

  it("on an LLM-sized row (131,072 classes)", () => {
    const C = 131_072;
    const values = Array.from({ length: 2 * C }, (_, i) => Math.sin(i * 0.001) * 12 + Math.cos(i) * 3);
    agree(block(values, C, [123, 99_999], true), { ...base, smoothing: 0.1 });
  });
});

describe("interleave lays class columns out as rows, bit for bit", () => {
  it("for float32 and float64, any row count, a class count not a multiple of 16, weights or not", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 37 }),
        fc.boolean(),
        fc.boolean(),
        (rows, C, f32, weighted) => {
          const options = weighted
            ? { ...base, classWeights: Float64Array.from({ length: C }, (_, c) => c + 1) }
            : base;
          const kernel = new WasmKernel(options);
          const size = f32 ? 4 : 8;
          const staged = kernel.columns(rows, C, f32);
          // Every byte distinct-ish, NaN payloads included: values must move as bits.
          for (let i = 0; i < staged.length; i++) staged[i] = (i * 131 + 7) & 255;
          const columns = staged.slice();
          const scores = kernel.interleave(rows, C, f32);
          const out = new Uint8Array(scores.buffer, scores.byteOffset, rows * C * size);
          for (let i = 0; i < rows; i++)
            for (let j = 0; j < C; j++)
              for (let b = 0; b < size; b++)
                if (out[(i * C + j) * size + b] !== columns[(j * rows + i) * size + b])
                  throw new Error(`row ${i} class ${j} byte ${b}`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("from columns staged longer than a block: any rows [from, from + n) of them, the staging left as it was", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 37 }),
        fc.boolean(),
        fc.nat(),
        fc.nat(),
        (rows, blocks, C, f32, a, b) => {
          const kernel = new WasmKernel(base);
          const size = f32 ? 4 : 8;
          const length = rows * blocks - (a % rows);
          const staged = kernel.columns(rows, C, f32, length);
          for (let i = 0; i < staged.length; i++) staged[i] = (i * 131 + 7) & 255;
          const columns = staged.slice();
          const n = 1 + (b % Math.min(rows, length));
          const from = a % (length - n + 1);
          const scores = kernel.interleave(rows, C, f32, length, from, n);
          expect(scores.length).toBe(n * C);
          const out = new Uint8Array(scores.buffer, scores.byteOffset, n * C * size);
          for (let i = 0; i < n; i++)
            for (let j = 0; j < C; j++)
              for (let k = 0; k < size; k++)
                if (out[(i * C + j) * size + k] !== columns[(j * length + from + i) * size + k])
                  throw new Error(`row ${from + i} class ${j} byte ${k}`);
          // The columns are still there for the next block's rows.
          expect(kernel.columns(rows, C, f32, length)).toEqual(columns);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses rows outside what is staged (a caller's bug, not a number)", () => {
    const kernel = new WasmKernel(base);
    kernel.columns(4, 3, true, 10);
    expect(() => kernel.interleave(4, 3, true, 10, 8, 4)).toThrow("interleave: rows 8+4 of 10");
    expect(() => kernel.interleave(4, 3, true, 10, 0, 5)).toThrow("interleave: rows 0+5 of 10");
  });
});
