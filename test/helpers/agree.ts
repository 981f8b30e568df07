import { expect } from "vitest";
import type { RowResults } from "../../src/core/rowResults.js";
import type { RowBlock } from "../../src/core/types.js";

type FloatField = "loss" | "weight" | "nll" | "entropy" | "brier" | "confidence" | "pTarget" | "value";
type IntField = "status" | "pred" | "target" | "rank";

/**
 * A WebAssembly kernel's results against the TypeScript reference's, row by row: the integer
 * fields equal (unless `skip` says a row's may differ), the floats within `relative` (or
 * `absolute` near 0), NaN matching NaN. A failure names the row, the field and the inputs.
 */
export function expectAgreement(
  block: RowBlock,
  wasm: RowResults,
  ts: RowResults,
  fields: { floats: readonly FloatField[]; ints: readonly IntField[] },
  tolerance: { relative: number; absolute: number },
  skip: (r: number, field: IntField) => boolean = () => false,
): void {
  for (let r = 0; r < block.rows; r++) {
    for (const f of fields.ints) {
      if (skip(r, f)) continue;
      if (wasm[f][r] !== ts[f][r]) expect.fail(`row ${r} ${f}: wasm ${wasm[f][r]}, ts ${ts[f][r]}`);
    }
    for (const f of fields.floats) {
      const a = wasm[f][r]!;
      const b = ts[f][r]!;
      const ok =
        Object.is(a, b) ||
        (Number.isNaN(a) && Number.isNaN(b)) ||
        Math.abs(a - b) <= tolerance.relative * Math.abs(b) + tolerance.absolute;
      if (!ok) {
        const row = Array.from(block.scores.subarray(r * block.classes, (r + 1) * block.classes));
        expect.fail(
          `row ${r} ${f}: wasm ${a}, ts ${b}; C=${block.classes}, y=${block.targets.values[r]}, row=${JSON.stringify(row)}`,
        );
      }
    }
  }
}
