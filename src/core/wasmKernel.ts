import { evaluateBlock, markUnused } from "./evaluateBlock.js";
import { isClassIndex, notAClassIndex } from "./indexTarget.js";
import { allocRowResults, copyRow, type RowResults } from "./rowResults.js";
import { smoothedIndexLoss } from "./smoothedLoss.js";
import { IGNORED, type LossOptions, type RowBlock, USED } from "./types.js";
import { FLAG, KERNEL_WASM, RECORD } from "./wasm/kernelBinary.js";

type RowsFunction = (x: number, rows: number, C: number, y: number, w: number, out: number) => void;

/** The row functions: `_d` also sums D = Σ d_c, `_w` sums D = Σ w_c·d_c (see scripts/kernel.wat.mjs). */
interface KernelExports {
  memory: WebAssembly.Memory;
  rows_f32: RowsFunction;
  rows_f64: RowsFunction;
  rows_f32_d: RowsFunction;
  rows_f64_d: RowsFunction;
  rows_f32_w: RowsFunction;
  rows_f64_w: RowsFunction;
  widen_f16: (src: number, dst: number, n: number) => void;
  widen_bf16: (src: number, dst: number, n: number) => void;
  interleave_f32: (src: number, dst: number, rows: number, C: number, column: number) => void;
  interleave_f64: (src: number, dst: number, rows: number, C: number, column: number) => void;
}

/** The per-row record as indices into Float64Array and Int32Array views of it (layout: RECORD). */
const F64 = RECORD.bytes / 8;
const I32 = RECORD.bytes / 4;
const PAD = 64; // the kernel reads whole vectors past a row's end; they are masked, but must exist
const CALL_VALUES = 1 << 18;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernel, or null where WebAssembly SIMD is missing (the TypeScript kernel then runs). */
export function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(KERNEL_WASM, "base64"));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Whether the WebAssembly kernel handles these options (else every row goes to the TypeScript kernel). */
export function wasmHandles(options: LossOptions): boolean {
  return (
    options.task === "multiclass" &&
    options.inputType === "logits" &&
    options.temperature === 1 &&
    kernelModule() !== null
  );
}

/**
 * Evaluates blocks with the SIMD kernel: one pass for max/argmax/rank, one for the exp sums, then
 * the losses and metrics from those sums here. Index targets and logits only; probability
 * targets, probabilities, temperature, and rows holding a non-finite value take the TypeScript
 * kernel, which stays the reference (test/core/wasmKernel.test.ts holds them to 1e-6 of it).
 */
export class WasmKernel {
  private readonly exports: KernelExports;
  private readonly weightsSum: number;
  private one: RowResults = allocRowResults(1);

  constructor(private readonly options: LossOptions) {
    const instance = new WebAssembly.Instance(kernelModule()!, {});
    this.exports = instance.exports as unknown as KernelExports;
    const w = options.classWeights;
    this.weightsSum = w === null ? 0 : w.reduce((a, b) => a + b, 0);
  }

  private ensure(bytes: number): ArrayBuffer {
    const memory = this.exports.memory;
    const missing = bytes - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    return memory.buffer;
  }

  /**
   * Room in the kernel's memory for `rows` rows of C scores, as a view to fill (a file read can go
   * straight into it); pass the view as the block's scores to run(). Later calls may move memory.
   */
  reserve(rows: number, C: number, f32: boolean): Float32Array | Float64Array {
    const size = f32 ? 4 : 8;
    const w = this.options.classWeights;
    const wPtr = align(rows * C * size + PAD);
    const yPtr = align(wPtr + (w === null ? 0 : (C + 8) * 8));
    const outPtr = align(yPtr + rows * 4);
    const buffer = this.ensure(outPtr + rows * RECORD.bytes);
    return f32 ? new Float32Array(buffer, 0, rows * C) : new Float64Array(buffer, 0, rows * C);
  }

  /**
   * Room for `rows` × C half-precision values after everything reserve(rows, C, true) lays out:
   * a file worker reads float16/bfloat16 into it, then widen() converts them into the scores.
   */
  halves(rows: number, C: number): Uint16Array {
    const at = this.halvesAt(rows, C);
    const buffer = this.ensure(at + rows * C * 2 + 16);
    return new Uint16Array(buffer, at, rows * C);
  }

  /** Widens what halves() holds into float32 scores at the start of memory (reserve's view). */
  widen(kind: "f16" | "bf16", rows: number, C: number): Float32Array {
    const view = this.reserve(rows, C, true) as Float32Array;
    this.exports[`widen_${kind}`](this.halvesAt(rows, C), 0, rows * C);
    return view;
  }

  /**
   * Room for `staged` rows of C class columns (class j's at j·staged) after everything
   * reserve(rows, C, f32) lays out: a file worker reads an Arrow file's class columns into it, then
   * interleave() lays them out as rows, `rows` or fewer at a time. (Staged longer than a block, a
   * column is one read of several blocks: 4 KiB reads of 1,000 columns cost a worker 340 ms of its
   * 960 on 800 MB.)
   */
  columns(rows: number, C: number, f32: boolean, staged = rows): Uint8Array {
    const size = f32 ? 4 : 8;
    const at = this.halvesAt(rows, C, size);
    const buffer = this.ensure(at + staged * C * size);
    return new Uint8Array(buffer, at, staged * C * size);
  }

  /**
   * Rows [from, from + n) of what columns(rows, C, f32, staged) holds as n rows of scores at the
   * start of memory (reserve(n, C, f32)'s view; n ≤ rows, so it ends before the columns start).
   */
  interleave(
    rows: number,
    C: number,
    f32: boolean,
    staged = rows,
    from = 0,
    n = rows,
  ): Float32Array | Float64Array {
    const size = f32 ? 4 : 8;
    if (n > rows || from + n > staged)
      throw new Error(`interleave: rows ${from}+${n} of ${staged} (blocks of ${rows})`);
    const src = this.halvesAt(rows, C, size) + from * size;
    const view = this.reserve(n, C, f32);
    this.exports[f32 ? "interleave_f32" : "interleave_f64"](src, 0, n, C, staged);
    return view;
  }

  /** Where halves() and columns() start: past reserve(rows, C)'s layout for scores of `size` bytes. */
  private halvesAt(rows: number, C: number, size = 4): number {
    const w = this.options.classWeights;
    const wPtr = align(rows * C * size + PAD);
    const yPtr = align(wPtr + (w === null ? 0 : (C + 8) * 8));
    return align(align(yPtr + rows * 4) + rows * RECORD.bytes);
  }

  evaluate(block: RowBlock, out: RowResults, scratch?: Float64Array): void {
    if (block.targets.kind !== "index" || !wasmHandles(this.options)) {
      evaluateBlock(block, this.options, out, scratch);
      return;
    }
    const inPlace = block.scores.buffer === this.exports.memory.buffer && block.scores.byteOffset === 0;
    if (!inPlace) {
      const view = this.reserve(block.rows, block.classes, block.scores instanceof Float32Array);
      view.set(block.scores);
      block = { ...block, scores: view };
    }
    this.run(block, out, scratch);
  }

  /** The kernel on a block whose scores already sit at the start of its memory (see reserve). */
  private run(block: RowBlock, out: RowResults, scratch?: Float64Array): void {
    const o = this.options;
    const { rows, classes: C, scores } = block;
    const f32 = scores instanceof Float32Array;
    const w = o.classWeights;
    // Memory: scores, padding, weights (C + 8 padding doubles), targets, records; as in reserve().
    const wPtr = align(rows * C * (f32 ? 4 : 8) + PAD);
    const yPtr = align(wPtr + (w === null ? 0 : (C + 8) * 8));
    const outPtr = align(yPtr + rows * 4);
    const buffer = this.exports.memory.buffer;
    if (w !== null) new Float64Array(buffer, wPtr, C).set(w);
    const ys = new Int32Array(buffer, yPtr, rows);
    const targets = block.targets.values;
    for (let r = 0; r < rows; r++) {
      const y = targets[r]!;
      if (y === o.ignoreIndex) ys[r] = -1;
      else if (isClassIndex(y, C)) ys[r] = y;
      else throw notAClassIndex(y, C, { row: block.start + r, line: block.lines?.[r] });
    }
    // D is read only with label smoothing: the functions without it do less work per element.
    const sums = w !== null ? "_w" : o.smoothing > 0 ? "_d" : "";
    const fn = this.exports[`rows_${f32 ? "f32" : "f64"}${sums}` as const];
    // Calls of ~256K values: a call runs to its end in the code it started in, and the first one
    // starts in V8's baseline compile (~3× slower), so a whole 1M-value block there would be slow
    // for all of it; the later calls pick up the optimized code as soon as it is ready.
    const step = Math.max(1, Math.floor(CALL_VALUES / Math.max(1, C)));
    for (let r = 0; r < rows; r += step) {
      const n = Math.min(step, rows - r);
      fn(r * C * (f32 ? 4 : 8), n, C, yPtr + 4 * r, w === null ? 0 : wPtr, outPtr + RECORD.bytes * r);
    }
    const rec = new Float64Array(buffer, outPtr, rows * F64);
    const ints = new Int32Array(buffer, outPtr, rows * I32);
    this.finish(block, rec, ints, out, scratch);
  }

  /** Losses and metrics from each row's sums (see the kernel's header for what they are). */
  private finish(
    block: RowBlock,
    rec: Float64Array,
    ints: Int32Array,
    out: RowResults,
    scratch?: Float64Array,
  ): void {
    const o = this.options;
    const C = block.classes;
    const w = o.classWeights;
    const e = o.smoothing;
    const uniform = o.smoothingStyle === "uniform";
    const targets = block.targets.values;
    for (let r = 0; r < block.rows; r++) {
      const flag = ints[r * I32 + RECORD.flag / 4]!;
      const y = targets[r]!;
      if (flag === FLAG.ignored) {
        markUnused(out, r, IGNORED, y);
        continue;
      }
      if (flag === FLAG.fallback) {
        this.fallback(block, r, out, scratch);
        continue;
      }
      const m = rec[r * F64 + RECORD.m / 8]!;
      const S = rec[r * F64 + RECORD.S / 8]!;
      const T = rec[r * F64 + RECORD.T / 8]!;
      const Q = rec[r * F64 + RECORD.Q / 8]!;
      const D = rec[r * F64 + RECORD.D / 8]!;
      const xy = rec[r * F64 + RECORD.xy / 8]!;
      const pred = ints[r * I32 + RECORD.pred / 4]!;
      const above = ints[r * I32 + RECORD.above / 4]!;
      const tiesBefore = ints[r * I32 + RECORD.ties / 4]!;
      const logS = Math.log(S);
      const lpy = xy - m - logS;
      const wy = w === null ? 1 : w[y]!;
      let loss: number;
      // Without smoothing D was not summed: the spread is neither needed nor computed.
      if (e === 0) loss = smoothedIndexLoss(0, o.smoothingStyle, C, wy * lpy, 0);
      else {
        // Σ_c w_c·lp_c = Σ w_c·(d_c − log S) = D − log S·Σw.
        const wsum = w === null ? C : this.weightsSum;
        let spread: number;
        if (uniform) spread = -(D - logS * wsum);
        else {
          // Σ_{c≠y} w_c·d_c = D − w_y·d_y, unless the target's term swamps the others (a target
          // logit of −1e38, say): then it is summed again without it.
          const dy = xy - m;
          let others = D - wy * dy;
          if (Math.abs(wy * dy) * 1e-9 > Math.abs(others)) others = sumOthers(block, r, y, m, w);
          spread = -(others - logS * (wsum - wy));
        }
        loss = smoothedIndexLoss(e, o.smoothingStyle, C, wy * lpy, spread);
      }
      const ey = Math.exp(xy - m);
      const pTarget = ey / S;
      out.status[r] = USED;
      out.target[r] = y;
      out.loss[r] = loss;
      out.weight[r] = wy;
      out.nll[r] = -lpy;
      out.entropy[r] = logS - T / S;
      // Σ_{c≠y} p_c² + (1 − p_y)², without subtracting a near-1 p_y from 1.
      const rest = (S - ey) / S;
      out.brier[r] = Math.max(0, (Q - ey * ey) / (S * S)) + rest * rest;
      out.confidence[r] = 1 / S;
      out.pTarget[r] = pTarget;
      out.pred[r] = pred;
      // The classes ranked above y: higher scores, and equal ones at a lower index.
      out.rank[r] = above + tiesBefore;
    }
  }

  /** A row the kernel left alone (a non-finite value): the TypeScript kernel, on that row only. */
  private fallback(block: RowBlock, r: number, out: RowResults, scratch?: Float64Array): void {
    const C = block.classes;
    const t = block.targets.values;
    const one: RowBlock = {
      start: block.start + r,
      rows: 1,
      classes: C,
      scores: block.scores.subarray(r * C, (r + 1) * C),
      targets: { kind: "index", values: t.subarray(r, r + 1) },
      lines: block.lines?.subarray(r, r + 1),
    };
    const res = this.one;
    res.rows = 1;
    res.start = one.start;
    evaluateBlock(one, this.options, res, scratch);
    copyRow(res, 0, out, r);
  }
}

const align = (n: number) => (n + 63) & ~63;

/** Σ_{c≠y} w_c·(x_c − m) for one row, summed directly. */
function sumOthers(block: RowBlock, r: number, y: number, m: number, w: Float64Array | null): number {
  const s = block.scores;
  const base = r * block.classes;
  let sum = 0;
  for (let c = 0; c < block.classes; c++) if (c !== y) sum += (w === null ? 1 : w[c]!) * (s[base + c]! - m);
  return sum;
}
