import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocRowResults } from "../../src/core/rowResults.js";
import { evaluateBinaryBlock } from "../../src/core/sigmoidBlock.js";
import type { LossOptions, RowBlock } from "../../src/core/types.js";
import { WasmBinaryKernel } from "../../src/core/wasmBinary.js";
import { expectAgreement } from "../helpers/agree.js";
import { DEFAULT_OPTIONS } from "../helpers/options.js";

const binary: LossOptions = { ...DEFAULT_OPTIONS, task: "binary", onNan: "skip" };
const FIELDS = ["loss", "nll", "brier", "confidence", "pTarget", "value"] as const;
const INTS = ["status", "pred", "target", "rank"] as const;

/**
 * Both kernels on one block: integers equal (away from the threshold), floats within 1e-9 relative
 * or 1e-15 absolute (p = 0.5 exactly in one, 0.5 − 3e−17 in the other).
 */
function agree(block: RowBlock, options: LossOptions) {
  const ts = allocRowResults(block.rows);
  const wasm = allocRowResults(block.rows);
  evaluateBinaryBlock(block, options, ts);
  new WasmBinaryKernel(options).evaluate(block, wasm);
  // p within 1e-12 of the threshold may fall on either side: the two sigmoids differ by an ulp.
  const nearThreshold = (r: number) => Math.abs(ts.pTarget[r]! - options.threshold) < 1e-12;
  expectAgreement(
    block,
    wasm,
    ts,
    { floats: FIELDS, ints: INTS },
    { relative: 1e-9, absolute: 1e-15 },
    (r, f) => nearThreshold(r) && f !== "status" && f !== "target",
  );
}

const block = (scores: Float32Array | Float64Array, targets: number[]): RowBlock => ({
  start: 0,
  rows: targets.length,
  classes: 1,
  scores,
  targets: { kind: "index", values: Float64Array.from(targets) },
});

const logit = fc.oneof(
  fc.double({ min: -50, max: 50, noNaN: true }),
  fc.double({ min: -1e4, max: 1e4, noNaN: true }),
  fc.constantFrom(
    0,
    -0,
    36.9,
    37.5,
    -745.2,
    800,
    -800,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ),
);
const target = fc.oneof(fc.constantFrom(0, 1, -100, 0.5), fc.double({ min: 0, max: 1, noNaN: true }));

describe("the WebAssembly binary kernel agrees with the TypeScript reference", () => {
  it("on any logits, float64 and float32, any row count (odd ones too), with every option", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(logit, target), { minLength: 1, maxLength: 41 }),
        fc.record({
          smoothing: fc.constantFrom(0, 0.1, 1),
          pw: fc.constantFrom(1, 0.3, 4),
          threshold: fc.constantFrom(0.5, 0.2, 0, 1),
          f32: fc.boolean(),
        }),
        (rows, o) => {
          const options: LossOptions = {
            ...binary,
            smoothing: o.smoothing,
            posWeight: o.pw === 1 ? null : Float64Array.of(o.pw),
            threshold: o.threshold,
          };
          const xs = rows.map(([x]) => x);
          agree(
            block(
              o.f32 ? Float32Array.from(xs) : Float64Array.from(xs),
              rows.map(([, y]) => y),
            ),
            options,
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  it("leaves non-finite logits and bad targets to the reference: PyTorch's NaN/inf, the error", () => {
    const out = allocRowResults(3);
    const k = new WasmBinaryKernel({ ...binary, onNan: "error" });
    k.evaluate(block(Float64Array.of(Number.POSITIVE_INFINITY, 1, Number.NEGATIVE_INFINITY), [0, 1, 1]), out);
    // torch 1.13: F.binary_cross_entropy_with_logits([inf, -inf], [0, 1]) = [inf, nan]
    expect(out.loss[0]).toBe(Number.POSITIVE_INFINITY);
    expect(out.loss[2]).toBeNaN();
    expect(() => k.evaluate(block(Float64Array.of(0, 1), [0, 2]), out)).toThrow(
      /target 2 is outside \[0, 1\]/,
    );
    expect(() => k.evaluate(block(Float64Array.of(Number.NaN), [1]), out)).toThrow(/NaN score/);
  });

  it("keeps PyTorch's rounding of 1 + e: x = 40 with target 1 costs 0", () => {
    const out = allocRowResults(2);
    new WasmBinaryKernel(binary).evaluate(block(Float64Array.of(40, -40), [1, 0]), out);
    expect(out.loss[0]).toBe(0);
    expect(out.loss[1]).toBe(0);
  });
});
