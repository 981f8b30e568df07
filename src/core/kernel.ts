import { evaluateBlock } from "./evaluateBlock.js";
import type { RowResults } from "./rowResults.js";
import { evaluateBinaryBlock, evaluateMultilabelBlock } from "./sigmoidBlock.js";
import type { LossOptions, RowBlock } from "./types.js";
import { WasmKernel, wasmHandles } from "./wasmKernel.js";

/** What evaluates a block into RowResults: the one choice of kernel, for every thread. */
export interface Kernel {
  evaluate(block: RowBlock, out: RowResults): void;
  /** Per-element results' width RowResults need (multilabel: C), else 0. */
  readonly labels: number;
}

/**
 * The kernel for a task: softmax rows in WebAssembly where it handles the options (else the
 * TypeScript reference), sigmoid rows in TypeScript.
 */
export function makeKernel(options: LossOptions, classes: number): Kernel {
  if (options.task === "binary")
    return { labels: 0, evaluate: (b, out) => evaluateBinaryBlock(b, options, out) };
  if (options.task === "multilabel")
    return { labels: classes, evaluate: (b, out) => evaluateMultilabelBlock(b, options, out) };
  if (wasmHandles(options)) {
    const wasm = new WasmKernel(options);
    const scratch = new Float64Array(classes);
    return { labels: 0, evaluate: (b, out) => wasm.evaluate(b, out, scratch) };
  }
  const scratch = new Float64Array(classes);
  return { labels: 0, evaluate: (b, out) => evaluateBlock(b, options, out, scratch) };
}
