import { describe, expect, it } from "vitest";
import { WasmKernel } from "../../src/core/wasmKernel.js";
import {
  bfloat16ToFloat32,
  bfloat16ToNumber,
  float16ToFloat32,
  float16ToNumber,
} from "../../src/readers/float16.js";
import { DEFAULT_OPTIONS } from "../helpers/options.js";

/** Every one of the 65,536 half-precision bit patterns, widened by each path. */
const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

describe("half precision widened to float32", () => {
  for (const kind of ["f16", "bf16"] as const) {
    const reference = kind === "f16" ? float16ToNumber : bfloat16ToNumber;
    it(`${kind}: the table/shift path gives every value exactly (NaN as NaN)`, () => {
      const out = new Float32Array(65536);
      (kind === "f16" ? float16ToFloat32 : bfloat16ToFloat32)(all, out);
      for (let h = 0; h < 65536; h++) {
        const want = reference(h);
        if (Number.isNaN(want)) expect(out[h]).toBeNaN();
        else if (!Object.is(out[h], Math.fround(want)))
          expect.fail(`${kind} ${h.toString(16)}: ${out[h]} vs ${want}`);
      }
    });

    it(`${kind}: the WebAssembly SIMD path gives the same bits as the table path (NaNs aside)`, () => {
      const kernel = new WasmKernel(DEFAULT_OPTIONS);
      // An odd count: the last group of eight is partial.
      const n = 65536 - 3;
      kernel.halves(n, 1).set(all.subarray(0, n));
      const simd = kernel.widen(kind, n, 1);
      const table = new Float32Array(n);
      (kind === "f16" ? float16ToFloat32 : bfloat16ToFloat32)(all.subarray(0, n), table);
      const a = bits(simd);
      const b = bits(table);
      // NaNs keep their payload in SIMD and are canonical in the table: NaN either way.
      for (let i = 0; i < n; i++)
        if (a[i] !== b[i] && !(Number.isNaN(simd[i]) && Number.isNaN(table[i])))
          expect.fail(`${kind} ${i.toString(16)}: ${a[i]!.toString(16)} vs ${b[i]!.toString(16)}`);
    });
  }
});
