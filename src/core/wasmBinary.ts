import { markUnused } from "./evaluateBlock.js";
import { allocRowResults, copyRow, type RowResults } from "./rowResults.js";
import { evaluateBinaryBlock } from "./sigmoidBlock.js";
import { IGNORED, type LossOptions, type RowBlock } from "./types.js";
import { BINARY_OUTPUTS } from "./wasm/kernelBinary.js";
import { kernelModule } from "./wasmKernel.js";

/** Returns how many rows it flagged (ignored, or left to TypeScript). */
type BinaryFunction = (
  x: number,
  y: number,
  n: number,
  out: number,
  ignore: number,
  pw: number,
  smoothing: number,
  threshold: number,
) => number;

interface BinaryExports {
  memory: WebAssembly.Memory;
  binary_f32: BinaryFunction;
  binary_f64: BinaryFunction;
}

/** Each output array's place in memory order, as the kernel writes them. */
const F64 = Object.fromEntries(BINARY_OUTPUTS.f64.map((name, k) => [name, k])) as Record<
  (typeof BINARY_OUTPUTS.f64)[number],
  number
>;
const I32 = Object.fromEntries(BINARY_OUTPUTS.i32.map((name, k) => [name, k])) as Record<
  (typeof BINARY_OUTPUTS.i32)[number],
  number
>;
const F64_ARRAYS = BINARY_OUTPUTS.f64.length;
const I32_ARRAYS = BINARY_OUTPUTS.i32.length;

/** Bytes past an array the kernel may read (the second lane of an odd row count). */
const PAD = 16;
const align = (n: number) => (n + 63) & ~63;

/**
 * Binary logits through the WebAssembly kernel (`binaryFunction` in scripts/kernel.wat.mjs): loss,
 * nll, p and Brier two rows at a time, with the kernel's exp and a log polynomial (relative
 * errors 5e-11 and 7e-15), then the row fields here. Rows it flags (a non-finite logit, a target
 * outside [0, 1]) go to the TypeScript kernel, which stays the reference
 * (test/core/wasmBinary.test.ts holds the two within 1e-9).
 */
export class WasmBinaryKernel {
  private readonly exports: BinaryExports;
  private one: RowResults = allocRowResults(1);

  constructor(private readonly options: LossOptions) {
    this.exports = new WebAssembly.Instance(kernelModule()!, {}).exports as unknown as BinaryExports;
  }

  /** Whether this kernel takes these options: binary logits, where WebAssembly SIMD runs. */
  static handles(options: LossOptions): boolean {
    return options.task === "binary" && options.inputType === "logits" && kernelModule() !== null;
  }

  private layout(rows: number, size: number) {
    const y = align(rows * size + PAD);
    const out = align(y + rows * 8 + PAD);
    const stride = (rows + (rows & 1)) * 8;
    // The f64 arrays, the i32 ones, the u8 statuses (BINARY_OUTPUTS).
    const end = out + F64_ARRAYS * stride + I32_ARRAYS * (stride / 2) + stride / 8;
    const memory = this.exports.memory;
    const missing = end - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    return { y, out, stride };
  }

  /** Room for `rows` scores at the start of memory (file workers read into it). */
  reserve(rows: number, _C: number, f32: boolean): Float32Array | Float64Array {
    this.layout(rows, f32 ? 4 : 8);
    const buffer = this.exports.memory.buffer;
    return f32 ? new Float32Array(buffer, 0, rows) : new Float64Array(buffer, 0, rows);
  }

  evaluate(block: RowBlock, out: RowResults): void {
    const { rows, scores, targets } = block;
    if (targets.kind !== "index") {
      evaluateBinaryBlock(block, this.options, out);
      return;
    }
    const f32 = scores instanceof Float32Array;
    const { y, out: outAt, stride } = this.layout(rows, f32 ? 4 : 8);
    const buffer = this.exports.memory.buffer;
    if (!(scores.buffer === buffer && scores.byteOffset === 0)) {
      (f32 ? new Float32Array(buffer, 0, rows) : new Float64Array(buffer, 0, rows)).set(scores);
    }
    new Float64Array(buffer, y, rows).set(targets.values);
    const o = this.options;
    const run = f32 ? this.exports.binary_f32 : this.exports.binary_f64;
    const flagged = run(0, y, rows, outAt, o.ignoreIndex, o.posWeight?.[0] ?? 1, o.smoothing, o.threshold);
    const f64 = (k: number) => new Float64Array(buffer, outAt + k * stride, rows);
    const i32 = (k: number) => new Int32Array(buffer, outAt + F64_ARRAYS * stride + (k * stride) / 2, rows);
    const p = f64(F64.p);
    out.loss.set(f64(F64.loss));
    out.nll.set(f64(F64.nll));
    out.confidence.set(p);
    out.pTarget.set(p);
    out.brier.set(f64(F64.brier));
    out.value.set(targets.values);
    out.pred.set(i32(I32.pred));
    out.target.set(i32(I32.target));
    out.rank.set(i32(I32.rank));
    out.status.set(new Uint8Array(buffer, outAt + F64_ARRAYS * stride + I32_ARRAYS * (stride / 2), rows));
    if (flagged === 0) return;
    const flag = f64(F64.flag);
    for (let r = 0; r < rows; r++) {
      const f = flag[r]!;
      if (f === 0) continue;
      if (f === 1) {
        markUnused(out, r, IGNORED, targets.values[r]!);
      } else this.fallback(block, r, out);
    }
  }

  /** Row r through the TypeScript kernel: PyTorch's NaN or inf, the skip, or the error. */
  private fallback(block: RowBlock, r: number, out: RowResults): void {
    const row: RowBlock = {
      start: block.start + r,
      rows: 1,
      classes: 1,
      scores: block.scores.subarray(r, r + 1),
      targets: { kind: "index", values: (block.targets.values as Float64Array).subarray(r, r + 1) },
      lines: block.lines?.subarray(r, r + 1),
    };
    this.one.start = row.start;
    this.one.rows = 1;
    evaluateBinaryBlock(row, this.options, this.one);
    copyRow(this.one, 0, out, r);
  }
}
