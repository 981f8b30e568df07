import { evaluateBlock } from "./evaluateBlock.js";
import type { RowResults } from "./rowResults.js";
import { evaluateBinaryBlock, evaluateMultilabelBlock } from "./sigmoidBlock.js";
import type { LossOptions, RowBlock } from "./types.js";
import { WasmBinaryKernel } from "./wasmBinary.js";
import { WasmKernel, wasmHandles } from "./wasmKernel.js";

/** What evaluates a block into RowResults: the one choice of kernel, for every thread. */
export interface Kernel {
  evaluate(block: RowBlock, out: RowResults): void;
  /**
   * Room for `rows` × C scores that evaluate() takes without a copy (the WebAssembly kernel's own
   * memory): file workers read the file straight into it. Valid until the next call.
   */
  reserve(rows: number, C: number, f32: boolean): Float32Array | Float64Array;
  /**
   * Half precision read straight into the kernel (the WebAssembly one): halves() is room for the
   * raw values, widen() turns them into float32 scores in SIMD. Absent: the caller widens.
   */
  halves?(rows: number, C: number): Uint16Array;
  widen?(kind: "f16" | "bf16", rows: number, C: number): Float32Array;
  /**
   * Class columns read straight into the kernel (the WebAssembly one): columns() is room for
   * `staged` rows of them (class j's at j·staged) beside blocks of `rows` rows, interleave() lays
   * rows [from, from + n) out as rows of scores. Absent: the caller lays them out.
   */
  columns?(rows: number, C: number, f32: boolean, staged?: number): Uint8Array;
  interleave?(
    rows: number,
    C: number,
    f32: boolean,
    staged?: number,
    from?: number,
    n?: number,
  ): Float32Array | Float64Array;
  /** Per-element results' width RowResults need (multilabel: C), else 0. */
  readonly labels: number;
}

/**
 * The kernel for a task: softmax rows in WebAssembly where it handles the options (else the
 * TypeScript reference), sigmoid rows in TypeScript.
 */
export function makeKernel(options: LossOptions, classes: number): Kernel {
  if (WasmBinaryKernel.handles(options)) {
    const wasm = new WasmBinaryKernel(options);
    return {
      labels: 0,
      evaluate: (b, out) => wasm.evaluate(b, out),
      reserve: (n, C, f32) => wasm.reserve(n, C, f32),
    };
  }
  if (options.task !== "multiclass") {
    const multilabel = options.task === "multilabel";
    let buffer = new ArrayBuffer(0);
    return {
      labels: multilabel ? classes : 0,
      evaluate: (b, out) =>
        multilabel ? evaluateMultilabelBlock(b, options, out) : evaluateBinaryBlock(b, options, out),
      reserve: (rows, C, f32) => {
        const bytes = rows * C * (f32 ? 4 : 8);
        if (buffer.byteLength < bytes) buffer = new ArrayBuffer(bytes);
        return f32 ? new Float32Array(buffer, 0, rows * C) : new Float64Array(buffer, 0, rows * C);
      },
    };
  }
  if (wasmHandles(options)) {
    const wasm = new WasmKernel(options);
    const scratch = new Float64Array(classes);
    return {
      labels: 0,
      evaluate: (b, out) => wasm.evaluate(b, out, scratch),
      reserve: (rows, C, f32) => wasm.reserve(rows, C, f32),
      halves: (rows, C) => wasm.halves(rows, C),
      widen: (kind, rows, C) => wasm.widen(kind, rows, C),
      columns: (rows, C, f32, staged) => wasm.columns(rows, C, f32, staged),
      interleave: (rows, C, f32, staged, from, n) => wasm.interleave(rows, C, f32, staged, from, n),
    };
  }
  const scratch = new Float64Array(classes);
  return {
    labels: 0,
    evaluate: (b, out) => evaluateBlock(b, options, out, scratch),
    reserve: (rows, C, f32) => (f32 ? new Float32Array(rows * C) : new Float64Array(rows * C)),
  };
}

/**
 * Whether file workers can evaluate these options (the sigmoid kernels and the WebAssembly one
 * read straight into their memory; the TypeScript softmax reference runs on blocks instead).
 */
export const fileWorkersHandle = (options: LossOptions) =>
  options.task === "binary" || (options.task === "multiclass" && wasmHandles(options));
