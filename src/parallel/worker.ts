import { closeSync, openSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { isClassIndex, notAClassIndex } from "../core/indexTarget.js";
import { makeKernel } from "../core/kernel.js";
import { ProbabilityLook } from "../core/probabilityLook.js";
import { allocRowResults, type RowResults } from "../core/rowResults.js";
import { notABinaryTarget } from "../core/sigmoidBlock.js";
import type { RowBlock, Scores } from "../core/types.js";
import { XentError } from "../errors.js";
import { shiftedTargets } from "../lm/shiftLabels.js";
import { Stats, statsToState } from "../metrics/stats.js";
import {
  type BufferReader,
  compressedBufferAt,
  decodeArrowBuffer,
  decodeBufferInto,
  decodedBufferAt,
  type ReadAt,
  readBufferAt,
  take,
} from "../readers/arrow/codecs/buffer.js";
import { readFullySync as readFully } from "../readers/files.js";
import { bfloat16ToFloat32, float16ToFloat32 } from "../readers/float16.js";
import { decode } from "../readers/npy/npy.js";
import { writeTemporary as writeFully } from "../readers/temporary.js";
import type { Segment } from "../readers/types.js";
import { prepareZstd } from "../readers/zstd.js";
import { prepareZstdStream } from "../readers/zstdStream.js";
import type { BlockReply, BlockWorkerInit } from "./blockWorkers.js";
import type { AnyFileJob, FileJob, ParquetJob } from "./fileJob.js";
import type { SpillJob } from "./spill.js";
import type { JobThreadInit } from "./threads.js";

/**
 * Decoded bytes of scores evaluated at a time from a compressed batch: the kernel's memory holds
 * this much, not the batch (32 MB a batch on the bench file, the whole file for polars' one batch).
 */
const SLICE_BYTES = 1 << 21;

/**
 * Bytes read at a time for each column of an LZ4 batch of class columns: a 64 KiB block (as
 * writers cut them) with its size word, checksum and the next block's size word, in one read
 * (a 64 KiB window took two reads a block: 341 ms of reads for 200 MB).
 */
const COLUMN_WINDOW = (1 << 16) + 64;

/** Class columns laid out into rows this many at a time (an Arrow file of one column per class). */
const COLUMN_GROUP = 16;

const float64 = (values: Float64Array | Float32Array): Float64Array =>
  values instanceof Float64Array ? values : Float64Array.from(values);

/**
 * A worker thread's share of an NPY evaluation: it reads its chunks of the file straight into the
 * WebAssembly kernel's memory (no copy, no transfer), evaluates them and sends back its partial
 * sums, which are exact, so merging them in any order gives the sequential result bit for bit.
 */
function run(job: FileJob): void {
  const kernel = makeKernel(job.loss, job.classes);
  const checkTarget = targetCheck(job, job.targets.path);
  const stats = new Stats(job.classes, job.loss, { perClass: job.perClass, worst: job.worst });
  const size = job.predictions.dtype.size;
  // Half precision (float16, bfloat16) is widened to float32 into the kernel's memory.
  const half = size === 2;
  const f32 = size <= 4;
  let raw16 = new Uint16Array(0);
  const tsize = job.targets.dtype.size;
  const C = job.classes;
  const scoresFd = openSync(job.predictions.path, "r");
  const targetsFd = openSync(job.targets.path, "r");
  let results = allocRowResults(0);
  const look = new ProbabilityLook(job.loss.task === "multiclass");
  look.possible = job.look;
  const halfKind = job.predictions.dtype.kind === "bf" ? "bf16" : "f16";
  /** A segment's scores in the kernel's memory; half precision widened to float32 on the way. */
  const readScores = (rows: number, at: number): Float32Array | Float64Array => {
    if (half && kernel.halves && kernel.widen) {
      // Read into the kernel's memory and widened there in SIMD.
      const halves = kernel.halves(rows, C);
      readFully(scoresFd, new Uint8Array(halves.buffer, halves.byteOffset, rows * C * 2), at);
      return kernel.widen(halfKind, rows, C);
    }
    const scores = kernel.reserve(rows, C, f32);
    if (!half) {
      readFully(scoresFd, new Uint8Array(scores.buffer, scores.byteOffset, rows * C * size), at);
      return scores;
    }
    if (raw16.length < rows * C) raw16 = new Uint16Array(rows * C);
    const halves = raw16.subarray(0, rows * C);
    readFully(scoresFd, new Uint8Array(halves.buffer, 0, rows * C * 2), at);
    (halfKind === "bf16" ? bfloat16ToFloat32 : float16ToFloat32)(halves, scores as Float32Array);
    return scores;
  };
  const readScoresAt: ReadAt = (into, at) => readFully(scoresFd, into, at);
  const spillFd = job.spillFd ?? -1;
  const readSpilledAt: ReadAt = (into, at) => readFully(spillFd, into, at);
  let columnScratch = new ArrayBuffer(0);
  /**
   * The next `n` rows of the C class columns into the kernel's memory: `column(j, into)` fills
   * column j's next n values, COLUMN_GROUP columns at a time, whose rows are then written out in
   * runs (not one value per row and column, at stride C).
   */
  const gatherColumns = (
    n: number,
    column: (j: number, into: Uint8Array) => void,
  ): Float32Array | Float64Array => {
    const bytes = n * size;
    if (kernel.columns && kernel.interleave) {
      // Straight into the kernel's memory, laid out there (WebAssembly).
      const staged = kernel.columns(n, C, f32);
      for (let j = 0; j < C; j++) column(j, staged.subarray(j * bytes, (j + 1) * bytes));
      return kernel.interleave(n, C, f32);
    }
    const scores = kernel.reserve(n, C, f32);
    if (columnScratch.byteLength < COLUMN_GROUP * bytes)
      columnScratch = new ArrayBuffer(COLUMN_GROUP * bytes);
    const raw = new Uint8Array(columnScratch);
    const values = f32 ? new Float32Array(columnScratch) : new Float64Array(columnScratch);
    for (let j0 = 0; j0 < C; j0 += COLUMN_GROUP) {
      const g = Math.min(COLUMN_GROUP, C - j0);
      for (let k = 0; k < g; k++) column(j0 + k, raw.subarray(k * bytes, (k + 1) * bytes));
      for (let i = 0; i < n; i++) {
        const o = i * C + j0;
        for (let k = 0; k < g; k++) scores[o + k] = values[k * n + i]!;
      }
    }
    return scores;
  };
  /** A block of `n` rows of the temporary file (class j's rows at j·n) into the kernel's memory, as rows. */
  const gatherBlock = (n: number, at: number): Float32Array | Float64Array => {
    if (kernel.columns && kernel.interleave) {
      readSpilledAt(kernel.columns(n, C, f32), at);
      return kernel.interleave(n, C, f32);
    }
    const block = new Uint8Array(n * C * size);
    readSpilledAt(block, at);
    return gatherColumns(n, (j, into) => into.set(block.subarray(j * n * size, (j + 1) * n * size)));
  };
  const shared: WorkerRun = { job, kernel, checkTarget, look, stats };
  /**
   * Rows of class columns read where they lie (a segment of several blocks: uncompressed, see
   * columnsPlan, or LZ4's stored blocks, see spill.ts): each column's rows in one read, then laid
   * out and evaluated a block (`--chunk-rows`) at a time.
   */
  const evaluateColumns = (
    start: number,
    rows: number,
    columnsAt: readonly number[],
    values: Float64Array,
    results: RowResults,
  ): RowResults => {
    const step = Math.min(job.sliceRows, rows);
    const staged = kernel.columns && kernel.interleave ? kernel.columns(step, C, f32, rows) : null;
    if (staged)
      for (let j = 0; j < C; j++)
        readScoresAt(staged.subarray(j * rows * size, (j + 1) * rows * size), columnsAt[j]!);
    for (let r = 0; r < rows; r += step) {
      const n = Math.min(step, rows - r);
      const scores = staged
        ? kernel.interleave!(step, C, f32, rows, r, n)
        : gatherColumns(n, (j, into) => readScoresAt(into, columnsAt[j]! + r * size));
      results = evaluateRun(shared, results, start + r, n, scores, values.subarray(r, r + n));
    }
    return results;
  };
  /** A compressed batch's buffers as the file holds them (reused: the largest so far). */
  const scratch = { buffer: new Uint8Array(0) };
  /** A compressed batch's targets, decoded whole (8 bytes a row at most), or a targets file's. */
  const compressedTargets = ({ rows, targetsAt, targetsBytes, codec }: Segment): Float64Array => {
    let raw: Uint8Array;
    if (targetsBytes === undefined) {
      // A targets file beside a compressed Arrow file: its labels as stored.
      raw = new Uint8Array(rows * tsize);
      readFully(targetsFd, raw, targetsAt);
    } else {
      const stored = take(scratch, targetsBytes);
      readFully(scoresFd, stored, targetsAt);
      raw = decodeArrowBuffer(stored, codec!).slice();
      if (raw.length < rows * tsize)
        throw new XentError(
          "format",
          `corrupt Arrow data: a targets buffer of ${raw.length} bytes where ${rows * tsize} are needed`,
        );
    }
    return float64(decode(raw.subarray(0, rows * tsize), job.targets.dtype));
  };
  /**
   * A compressed batch, evaluated as it is decoded: `open` its buffers' readers, `slice(n)` lays
   * the next n rows' scores into the kernel's memory; min(--chunk-rows, 2 MiB of scores) rows at a
   * time, and of those only the rows `--rows` keeps (all, without a range). Readers read to the
   * batch's end are finished (their frames must end there too).
   */
  const evaluateDecoded = (
    segment: Segment,
    results: RowResults,
    open: (readers: BufferReader[]) => void,
    slice: (readers: BufferReader[], n: number) => Float32Array | Float64Array,
  ): RowResults => {
    const { start, rows } = segment;
    const values = compressedTargets(segment);
    const keep = segment.keep ?? { from: 0, to: rows };
    const step = Math.max(1, Math.min(job.sliceRows, Math.floor(SLICE_BYTES / (C * size))));
    const readers: BufferReader[] = [];
    try {
      open(readers);
      for (let r = 0; r < keep.to; r += step) {
        const n = Math.min(step, rows - r);
        const scores = slice(readers, n);
        const a = Math.max(r, keep.from);
        const b = Math.min(r + n, keep.to);
        if (a >= b) continue;
        const kept = a === r && b === r + n ? scores : scores.subarray((a - r) * C, (b - r) * C);
        results = evaluateRun(shared, results, start + a, b - a, kept, values.subarray(a, b));
      }
      if (keep.to === rows) for (const reader of readers) reader.finish();
      return results;
    } finally {
      for (const reader of readers) reader.close();
    }
  };
  try {
    const next = claims(job.next, job.worker, job.workers);
    for (let k = next(); k < job.segments.length; k = next()) {
      const segment = job.segments[k]!;
      const { start, rows, scoresAt, targetsAt, codec } = segment;
      const { columnsAt, columnsBytes } = segment;
      if (codec && columnsAt) {
        // One column per class: LZ4, a stream per column, read small windows at a time into the
        // one scratch buffer; zstd (a batch small enough, see spill.ts), each column decoded whole.
        results = evaluateDecoded(
          segment,
          results,
          (readers) => {
            for (let j = 0; j < C; j++) {
              const buffer = [
                readScoresAt,
                columnsAt[j]!,
                columnsBytes![j]!,
                codec,
                rows * size,
                scratch,
              ] as const;
              readers.push(
                codec === "zstd" ? decodedBufferAt(...buffer) : compressedBufferAt(...buffer, COLUMN_WINDOW),
              );
            }
          },
          (readers, n) => gatherColumns(n, (j, into) => readers[j]!.fill(into)),
        );
        continue;
      }
      if (codec) {
        results = evaluateDecoded(
          segment,
          results,
          (readers) => {
            readers.push(
              compressedBufferAt(
                readScoresAt,
                scoresAt,
                segment.scoresBytes!,
                codec,
                rows * C * size,
                scratch,
              ),
            );
          },
          (readers, n) => {
            const scores = kernel.reserve(n, C, f32);
            readers[0]!.fill(new Uint8Array(scores.buffer, scores.byteOffset, n * C * size));
            return scores;
          },
        );
        continue;
      }
      // --shift-labels: one label more (the next segment's first), each checked as stored.
      const shift = job.shift;
      const labels = shift ? Math.min(rows + 1, shift.rows - start) : rows;
      const raw = new Uint8Array(labels * tsize);
      readFully(segment.spilled?.targets ? spillFd : targetsFd, raw, targetsAt);
      const decoded = decode(raw, job.targets.dtype);
      let values = float64(decoded);
      if (shift) {
        for (let r = 0; r < labels; r++) checkTarget(values[r]!, start + r);
        // `values` holds the rows' labels and, unless the file ends there, the next one.
        const own = values;
        values = shiftedTargets(
          rows,
          (r) => own[r]!,
          (r) => (start + r < shift.rows ? Math.floor((start + r) / shift.length) : null),
          job.loss.ignoreIndex,
        );
      }
      if (columnsAt && !segment.spilled?.scores) {
        results = evaluateColumns(start, rows, columnsAt, values, results);
        continue;
      }
      // Rows of a batch decoded into the temporary file first: a block there, class by class.
      const scores = segment.spilled?.scores ? gatherBlock(rows, scoresAt) : readScores(rows, scoresAt);
      results = evaluateRun(shared, results, start, rows, scores, values);
    }
    done(shared);
  } finally {
    closeSync(scoresFd);
    closeSync(targetsFd);
  }
}

/** Bytes decoded at a time into the temporary file (a zstd stream holds its window besides). */
const SPILL_PIECE = 1 << 20;

/**
 * A worker's share of the buffers decoded into the temporary file (spill.ts), each checked as
 * when evaluated (decoded to its end). Targets stream through as they are. A run of g ≥ 2 class
 * columns (RUN_BYTES, 4 MiB, at most together) is decoded whole, column after column, then written a block
 * at a time, its g columns' rows side by side: one write a block. A single column (too long to
 * hold several) streams through, a block's rows at a time.
 */
function runSpillJob(job: SpillJob): void {
  const fd = openSync(job.path, "r");
  const read: ReadAt = (into, at) => readFully(fd, into, at);
  const scratch = { buffer: new Uint8Array(0) };
  let held = new Uint8Array(0);
  let piece = new Uint8Array(SPILL_PIECE);
  const room = (n: number) => {
    if (piece.length < n) piece = new Uint8Array(n);
    return piece.subarray(0, n);
  };
  try {
    const next = claims(job.next, job.worker, job.workers);
    for (let k = next(); k < job.spill.length; k = next()) {
      const { buffers, codec, rows, valueSize: size, column: j0, blocks, to } = job.spill[k]!;
      const g = buffers.length;
      const column = rows * size;
      const decode = (c: number, use: (reader: BufferReader) => void) =>
        readBufferAt(read, buffers[c]!.at, buffers[c]!.bytes, codec, column, scratch, use);
      /** Decodes the next n bytes of a stream into `piece`, written at `at` (or dropped: at < 0). */
      const pass = (reader: BufferReader, n: number, at: number) => {
        for (let done = 0; done < n; done += SPILL_PIECE) {
          const m = Math.min(SPILL_PIECE, n - done);
          reader.fill(room(m));
          if (at >= 0) writeFully(job.fd, piece.subarray(0, m), at + done);
        }
      };
      if (!blocks) {
        decode(0, (reader) => pass(reader, column, to!));
        continue;
      }
      const blockAt = (r: number, n: number) =>
        blocks.at + (r - blocks.from) * blocks.classes * size + j0! * n * size;
      if (g === 1) {
        decode(0, (reader) => {
          pass(reader, blocks.from * size, -1);
          for (let r = blocks.from; r < blocks.to; r += blocks.rows) {
            const n = Math.min(blocks.rows, blocks.to - r);
            reader.fill(room(n * size));
            writeFully(job.fd, piece.subarray(0, n * size), blockAt(r, n));
          }
          pass(reader, column - blocks.to * size, -1);
        });
        continue;
      }
      if (held.length < g * column) held = new Uint8Array(g * column);
      for (let c = 0; c < g; c++)
        decodeBufferInto(
          read,
          buffers[c]!.at,
          buffers[c]!.bytes,
          codec,
          held.subarray(c * column, (c + 1) * column),
          scratch,
        );
      for (let r = blocks.from; r < blocks.to; r += blocks.rows) {
        const n = Math.min(blocks.rows, blocks.to - r);
        const out = room(g * n * size);
        for (let c = 0; c < g; c++)
          out.set(held.subarray(c * column + r * size, c * column + (r + n) * size), c * n * size);
        writeFully(job.fd, out, blockAt(r, n));
      }
    }
  } finally {
    closeSync(fd);
  }
  parentPort!.postMessage({ type: "spilled" });
}

/**
 * A worker's share of a Parquet file: its row groups, decoded here page by page (parquet.ts) and
 * sliced by the Arrow reader's rules (nulls, list lengths), evaluated as the NPY path does.
 */
async function runParquet(job: ParquetJob): Promise<void> {
  const [{ openParquet }, { batchScores, batchTargets }] = await Promise.all([
    import("../readers/parquet/parquet.js"),
    import("../readers/arrow/slices.js"),
  ]);
  const { path, name, list, columns, target, rowGroups } = job.parquet;
  const C = job.classes;
  const kernel = makeKernel(job.loss, C);
  const checkTarget = targetCheck(job, name);
  const stats = new Stats(C, job.loss, { perClass: job.perClass, worst: job.worst });
  const look = new ProbabilityLook(job.loss.task === "multiclass");
  look.possible = job.look;
  let results = allocRowResults(0);
  const layout = { list, columns, classes: C };
  const groups: number[] = [];
  for (let g = job.worker; g < rowGroups; g += job.workers) groups.push(g);
  // Each run is evaluated before the next is taken: its arrays can be written over.
  const input = await openParquet(path, name, true);
  for await (const batch of input.batches([...(list !== null ? [list] : columns), target], groups)) {
    const rows = batch.numRows;
    const start = batch.start!;
    const scores = batchScores(batch, layout, 0, rows, start, name);
    const values = batchTargets(batch.column(target), "index", 0, rows, C, start, name)
      .values as Float64Array;
    results = evaluateRun({ job, kernel, checkTarget, look, stats }, results, start, rows, scores, values);
  }
  done({ job, kernel, checkTarget, look, stats });
}

/** What a file worker evaluates with, whichever format it reads. */
interface WorkerRun {
  job: AnyFileJob;
  kernel: ReturnType<typeof makeKernel>;
  checkTarget: (y: number, row: number) => void;
  look: ProbabilityLook;
  stats: Stats;
}

/** One run of rows read by a file worker: targets checked, evaluated, summed; the results array (grown when needed) back. */
function evaluateRun(
  w: WorkerRun,
  results: RowResults,
  start: number,
  rows: number,
  scores: Scores,
  values: Float64Array,
): RowResults {
  for (let r = 0; r < rows; r++) w.checkTarget(values[r]!, start + r);
  w.look.observe(scores, rows, w.job.classes);
  const out = results.status.length < rows ? allocRowResults(rows) : results;
  out.rows = rows;
  out.start = start;
  w.kernel.evaluate({ start, rows, classes: w.job.classes, scores, targets: { kind: "index", values } }, out);
  w.stats.add(out);
  if (w.job.progress) parentPort!.postMessage({ type: "progress", rows });
  return out;
}

/**
 * The indices of the work items this worker takes: the next one not yet taken, from a counter
 * the workers share (a worker that gets less of a busy machine's time takes fewer; the sums merge
 * exactly, so who took what changes no number), or without one every workers-th from `worker`.
 */
function claims(counter: Int32Array | undefined, worker: number, workers: number): () => number {
  if (counter) return () => Atomics.add(counter, 0, 1);
  let k = worker - workers;
  return () => {
    k += workers;
    return k;
  };
}

/** The worker's partial sums back to the main thread. */
function done(w: WorkerRun): void {
  parentPort!.postMessage({
    type: "done",
    state: statsToState(w.stats),
    look: { possible: w.look.possible, rows: w.look.rows },
  });
}

/** The check join.ts makes of every target (this path bypasses it): per task, naming the targets file. */
function targetCheck(job: AnyFileJob, file: string): (y: number, row: number) => void {
  const { ignoreIndex } = job.loss;
  if (job.loss.task === "binary")
    return (y, row) => {
      if (y !== ignoreIndex && !(y >= 0 && y <= 1)) throw notABinaryTarget(y, { file, row });
    };
  const C = job.classes;
  return (y, row) => {
    if (y !== ignoreIndex && !isClassIndex(y, C)) throw notAClassIndex(y, C, { file, row });
  };
}

function describeError(e: unknown, file: string | undefined) {
  // Errors about scores (NaN, say) come from the kernel without a file: it is the predictions'.
  return e instanceof XentError
    ? { code: e.code, message: e.message, context: file === undefined ? e.context : { file, ...e.context } }
    : { code: "internal", message: e instanceof Error ? e.message : String(e), context: {} };
}

/** Block mode (blockPool.ts): blocks arrive from the main thread; the partial sums go back at the end. */
function serveBlocks(init: BlockWorkerInit): void {
  const kernel = makeKernel(init.loss, init.classes);
  const stats = new Stats(init.classes, init.loss, { perClass: init.perClass, worst: init.worst });
  const port = parentPort!;
  // Reused from block to block unless it goes back to the main thread (per-sample output).
  let kept = allocRowResults(0);
  port.on("message", (m: { type: "block"; seq: number; block: RowBlock } | { type: "finish" }) => {
    if (m.type === "finish") {
      port.postMessage({ type: "state", state: statsToState(stats) } satisfies BlockReply);
      port.close();
      return;
    }
    const { block, seq } = m;
    try {
      if (init.results || kept.status.length < block.rows) kept = allocRowResults(block.rows, kernel.labels);
      const results = kept;
      results.rows = block.rows;
      results.start = block.start;
      kernel.evaluate(block, results);
      stats.add(results, block);
      // The scores' buffer goes back to be filled with a later block.
      const scores = block.scores.buffer as ArrayBuffer;
      if (init.results) {
        const transfer = Object.values(results)
          .filter((v) => ArrayBuffer.isView(v))
          .map((v) => (v as Uint8Array).buffer);
        port.postMessage({ type: "block", seq, results, scores } satisfies BlockReply, [
          ...(transfer as ArrayBuffer[]),
          scores,
        ]);
      } else port.postMessage({ type: "block", seq, scores } satisfies BlockReply, [scores]);
    } catch (e) {
      port.postMessage({ type: "error", seq, error: describeError(e, undefined) } satisfies BlockReply);
    }
  });
}

/** A file job (decode into the temporary file, a Parquet file's row groups, segments of a file), run to its answer. */
async function runJob(job: AnyFileJob | SpillJob): Promise<void> {
  const file = "spill" in job ? job.path : "parquet" in job ? job.parquet.name : job.predictions.path;
  try {
    if ("spill" in job) {
      if (job.spill.some((u) => u.codec === "zstd")) await prepareZstdStream();
      runSpillJob(job);
    } else if ("parquet" in job) await runParquet(job);
    else {
      // zstd's WebAssembly decoder is instantiated asynchronously, before the synchronous run.
      // Scores stream through one decoder; a batch's targets (small) decode whole through the other.
      if (job.segments.some((s) => s.codec === "zstd"))
        await Promise.all([prepareZstd(), prepareZstdStream()]);
      run(job);
    }
  } catch (e) {
    parentPort!.postMessage({ type: "error", error: describeError(e, file) });
  }
}

const data = workerData as JobThreadInit | BlockWorkerInit;
if (data.mode === "blocks") serveBlocks(data);
else {
  // Jobs one after another (threads.ts): each answers before the next is posted.
  let queue = Promise.resolve();
  parentPort!.on("message", (m: { type: "job"; job: AnyFileJob | SpillJob }) => {
    queue = queue.then(() => runJob(m.job));
  });
}
