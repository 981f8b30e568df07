import type { RowResults } from "../core/rowResults.js";
import type { FastExactSum } from "./fastExactSum.js";
import { CHUNKS } from "./fastExactSum.js";
import { LAYOUT, SUMS_WASM, CHUNKS as WASM_CHUNKS } from "./wasm/sumsBinary.js";

/** Where BinarySums puts its results: the fields of Stats that binary rows feed. */
export interface BinaryTotals {
  used: number;
  ignored: number;
  skipped: number;
  correct: number;
  positives: number;
  predicted: number;
  tp: number;
  /** Per calibration bin: rows, rows whose target is exactly 1. */
  binCount: Float64Array;
  binOnes: Float64Array;
  loss: FastExactSum;
  nll: FastExactSum;
  brier: FastExactSum;
  confidence: FastExactSum[];
  target: FastExactSum[];
}

let compiled: WebAssembly.Module | null | undefined;

function sumsModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = CHUNKS === WASM_CHUNKS ? new WebAssembly.Module(Buffer.from(SUMS_WASM, "base64")) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Rows per call: chunks gain < 2^32 an add, and 2^30 adds keep an i64 far from overflow. */
const CALL_ROWS = 1 << 30;

/**
 * Stats.addSigmoid's per-row work for binary rows in WebAssembly (scripts/sums.wat.mjs): the same
 * counts, calibration bins and exact sums, from a block's RowResults copied into its memory, then
 * handed to the FastExactSums. Exact sums make the two paths agree bit for bit
 * (test/metrics/binarySums.test.ts); this one takes ~15 ns a row where the TypeScript one took ~60.
 */
export class BinarySums {
  private readonly memory: WebAssembly.Memory;
  private readonly run: (n: number, ...arrays: number[]) => void;

  private constructor(instance: WebAssembly.Instance) {
    const e = instance.exports as { memory: WebAssembly.Memory; binary: (n: number, ...a: number[]) => void };
    this.memory = e.memory;
    this.run = e.binary;
  }

  /** Null where WebAssembly is unavailable: Stats then sums in TypeScript. */
  static create(): BinarySums | null {
    const module = sumsModule();
    return module === null ? null : new BinarySums(new WebAssembly.Instance(module, {}));
  }

  add(res: RowResults, into: BinaryTotals): void {
    for (let from = 0; from < res.rows; from += CALL_ROWS)
      this.addRows(res, from, Math.min(res.rows, from + CALL_ROWS), into);
  }

  private addRows(res: RowResults, from: number, to: number, into: BinaryTotals): void {
    const n = to - from;
    // Arrays after the fixed part: f64 ones first (8-aligned), then i32, then the u8 statuses.
    const at = { loss: LAYOUT.data, nll: 0, brier: 0, p: 0, value: 0, target: 0, pred: 0, status: 0 };
    at.nll = at.loss + 8 * n;
    at.brier = at.nll + 8 * n;
    at.p = at.brier + 8 * n;
    at.value = at.p + 8 * n;
    at.target = at.value + 8 * n;
    at.pred = at.target + 4 * n;
    at.status = at.pred + 4 * n;
    const end = at.status + n;
    const pages = Math.ceil(end / 65536) - this.memory.buffer.byteLength / 65536;
    if (pages > 0) this.memory.grow(pages);
    const buffer = this.memory.buffer;
    new Float64Array(buffer, at.loss, n).set(res.loss.subarray(from, to));
    new Float64Array(buffer, at.nll, n).set(res.nll.subarray(from, to));
    new Float64Array(buffer, at.brier, n).set(res.brier.subarray(from, to));
    new Float64Array(buffer, at.p, n).set(res.confidence.subarray(from, to));
    new Float64Array(buffer, at.value, n).set(res.value.subarray(from, to));
    new Int32Array(buffer, at.target, n).set(res.target.subarray(from, to));
    new Int32Array(buffer, at.pred, n).set(res.pred.subarray(from, to));
    new Uint8Array(buffer, at.status, n).set(res.status.subarray(from, to));
    this.run(n, at.status, at.loss, at.nll, at.brier, at.p, at.value, at.target, at.pred);
    this.collect(into);
  }

  /** Moves the counters and accumulators out of memory into `into`, and zeroes them. */
  private collect(into: BinaryTotals): void {
    const buffer = this.memory.buffer;
    const counters = new Float64Array(buffer, LAYOUT.counters, LAYOUT.counterCount);
    const c = LAYOUT.count;
    into.used += counters[c.used]!;
    into.ignored += counters[c.ignored]!;
    into.skipped += counters[c.skipped]!;
    into.correct += counters[c.correct]!;
    into.positives += counters[c.positives]!;
    into.predicted += counters[c.predicted]!;
    into.tp += counters[c.tp]!;
    for (let b = 0; b < into.binCount.length; b++) {
      into.binCount[b]! += counters[c.bins + b]!;
      into.binOnes[b]! += counters[c.ones + b]!;
    }
    counters.fill(0);
    const words = new Uint32Array(buffer, 0, (LAYOUT.accCount * LAYOUT.accBytes) / 4);
    const signed = new Int32Array(buffer, 0, words.length);
    const move = (index: number, sum: FastExactSum) => {
      const base = (index * LAYOUT.accBytes) / 4;
      for (let k = 0; k < CHUNKS; k++) {
        const low = words[base + 2 * k]!;
        const high = signed[base + 2 * k + 1]!;
        if (low !== 0 || high !== 0) sum.addChunk(k, low, high);
      }
      const special = base + 2 * CHUNKS;
      const [posInf, negInf, nan] = [words[special]!, words[special + 2]!, words[special + 4]!];
      if (posInf + negInf + nan > 0) sum.addSpecials(posInf, negInf, nan);
    };
    const a = LAYOUT.acc;
    move(a.loss, into.loss);
    move(a.nll, into.nll);
    move(a.brier, into.brier);
    for (let b = 0; b < into.confidence.length; b++) {
      move(a.confidence + b, into.confidence[b]!);
      move(a.target + b, into.target[b]!);
    }
    words.fill(0);
  }
}
