import { type ErrorCode, XentError } from "../errors.js";
import type { ArrowCodec } from "../readers/arrow/codecs/buffer.js";
import { inPlaceRows } from "../readers/columnSegments.js";
import { DISK_MARGIN, freeSpace } from "../readers/temporary.js";
import type { Segment } from "../readers/types.js";
import type { WorkerError } from "./fileJob.js";
import type { JobThreads } from "./threads.js";

/**
 * Where compressed batches of class columns are decoded before they are evaluated: a directory
 * (the system's temporary one, from src/cli), and the decoded scores (in all) from which they go.
 */
export interface SpillSettings {
  dir: string;
  minBytes: number;
  /** Decoded column bytes a worker holds at a time (RUN_BYTES; tests lower it). */
  runBytes?: number | undefined;
}

/**
 * Compressed buffers of the Arrow file to decode into the temporary file. Class columns
 * `column`, `column + 1`, … go into the batch's blocks (`blocks`: rows [from, to) in blocks of
 * `rows` rows, each block holding its rows class by class); the targets go whole at `to`.
 */
export interface SpillUnit {
  buffers: { at: number; bytes: number }[];
  codec: ArrowCodec;
  /** The batch's rows, and each value's bytes. */
  rows: number;
  valueSize: number;
  column?: number | undefined;
  blocks?: SpillBlocks | undefined;
  to?: number | undefined;
}

/** Where a batch's class columns go: block b (of `rows` rows, the last what remains) at `at + b · rows · classes · valueSize`. */
export interface SpillBlocks {
  at: number;
  from: number;
  to: number;
  rows: number;
  classes: number;
}

/** The decoding the workers do before evaluating: its units and the temporary file's size. */
export interface SpillPlan {
  units: SpillUnit[];
  bytes: number;
  dir: string;
  /** Threads that decode (all the run may use: the batch's columns are independent). */
  workers: number;
}

/** What a worker thread decoding its share of the units is told. */
export interface SpillJob {
  spill: SpillUnit[];
  /** The Arrow file, and the temporary file's descriptor (threads share the process's descriptors). */
  path: string;
  fd: number;
  worker: number;
  workers: number;
  /** The next unit no worker has taken (see FileJob.next). */
  next?: Int32Array | undefined;
}

/**
 * Decoded column bytes a worker holds to write a run of columns into the blocks: 20 columns of
 * 50,000 float32 rows, 5 of 200,000 (16 MiB took more memory and was no faster).
 */
export const RUN_BYTES = 4 * 2 ** 20;

/**
 * The segments with every compressed batch of class columns moved to a temporary file, when
 * they hold more than `minBytes` of decoded scores in all: a zstd column is a frame whose window
 * is the column, so decoding the columns side by side holds the batch (polars writes a DataFrame
 * as one batch: the file); an LZ4 stream per column holds 128 KiB (1,000 columns in 25 batches
 * of 8,000 rows on two workers: 486 MiB and 3.0 s for 800 MB, through the file 1.5 s). Decoded a few columns at a time into the file instead (in parallel: columns are
 * independent), the batch is then read a block of `chunkRows` rows at a time, each block its
 * rows class by class: one read, laid out as rows by the kernel. (Written column after column,
 * a block's read was 1,000 reads of 4 KiB: 150 ms a worker for 200 MB.) Null when the batches
 * are smaller or the disk lacks the room.
 */
export function spillSegments(
  segments: readonly Segment[],
  classes: number,
  scoreBytes: number,
  targetBytes: number,
  chunkRows: number,
  settings: SpillSettings,
  workers: number,
  freeBytes: (dir: string) => number = freeSpace,
): { segments: Segment[]; spill: SpillPlan | null; inPlace: number } | null {
  const C = classes;
  const compressed = (s: Segment) => s.codec !== undefined && s.columnsBytes !== undefined;
  const decoded = segments.reduce((n, s) => n + (compressed(s) ? s.rows * C * scoreBytes : 0), 0);
  if (decoded <= settings.minBytes) return null;
  const large = compressed;
  const units: SpillUnit[] = [];
  const out: Segment[] = [];
  let bytes = 0;
  /** Batches read in place (stored LZ4 blocks). */
  let inPlace = 0;
  for (const s of segments) {
    if (!large(s)) {
      out.push(s);
      continue;
    }
    const { rows } = s;
    const codec = s.codec!;
    const keep = s.keep ?? { from: 0, to: rows };
    const step = s.stored ? inPlaceRows(s.stored.blockRows, rows, C, scoreBytes) : 0;
    const blocks: SpillBlocks = { at: bytes, from: keep.from, to: keep.to, rows: chunkRows, classes: C };
    if (step === 0) {
      bytes += (keep.to - keep.from) * C * scoreBytes;
      const run = Math.max(1, Math.floor((settings.runBytes ?? RUN_BYTES) / (rows * scoreBytes)));
      for (let j = 0; j < C; j += run) {
        const buffers = s
          .columnsAt!.slice(j, j + run)
          .map((at, k) => ({ at, bytes: s.columnsBytes![j + k]! }));
        units.push({ buffers, codec, rows, valueSize: scoreBytes, column: j, blocks });
      }
    }
    // The file's own target column goes along (a targets file beside it is read as it is).
    const own = s.targetsBytes !== undefined;
    const targetsTo = bytes;
    if (own) {
      units.push({
        buffers: [{ at: s.targetsAt, bytes: s.targetsBytes! }],
        codec,
        rows,
        valueSize: targetBytes,
        to: targetsTo,
      });
      bytes += rows * targetBytes;
    }
    const targetsAt = (from: number) => (own ? targetsTo : s.targetsAt) + from * targetBytes;
    if (step > 0) {
      // Stored blocks: segments of `step` rows (never across a block), read where they lie.
      inPlace++;
      const { blockRows, blocks: at } = s.stored!;
      for (let from = keep.from; from < keep.to; ) {
        const to = Math.min(keep.to, (Math.floor(from / step) + 1) * step);
        const b = Math.floor(from / blockRows);
        out.push({
          start: s.start + from,
          rows: to - from,
          scoresAt: -1,
          targetsAt: targetsAt(from),
          columnsAt: at.map((a) =>
            a.length === 1 ? a[0]! + from * scoreBytes : a[b]! + (from - b * blockRows) * scoreBytes,
          ),
          ...(own ? { spilled: { scores: false, targets: true } } : {}),
        });
        from = to;
      }
      continue;
    }
    for (let from = keep.from; from < keep.to; from += chunkRows)
      out.push({
        start: s.start + from,
        rows: Math.min(chunkRows, keep.to - from),
        scoresAt: blocks.at + (from - keep.from) * C * scoreBytes,
        targetsAt: targetsAt(from),
        spilled: { scores: true, targets: own },
      });
  }
  if (bytes > 0 && freeBytes(settings.dir) < bytes + DISK_MARGIN) return null;
  return {
    segments: out,
    spill: units.length > 0 ? { units, bytes, dir: settings.dir, workers } : null,
    inPlace,
  };
}

/**
 * Decodes the plan's units into the temporary file `fd` on `workers` of the threads (each takes
 * the next unit no thread has taken). A unit that does not decode is the file's error, reported as
 * the reader would.
 */
export async function runSpill(
  plan: SpillPlan,
  path: string,
  fd: number,
  workers: number,
  threads: JobThreads,
): Promise<void> {
  const errors: WorkerError[] = [];
  const n = Math.min(workers, plan.units.length);
  const next = new Int32Array(new SharedArrayBuffer(4));
  await Promise.all(
    Array.from({ length: n }, (_, worker) => {
      const job: SpillJob = { spill: plan.units, path, fd, worker, workers: n, next };
      return threads.run(worker, job, (m: { type: "spilled" } | { type: "error"; error: WorkerError }) => {
        if (m.type === "error") errors.push(m.error);
        return true;
      });
    }),
  );
  const first = errors[0];
  if (first === undefined) return;
  if (first.code === "internal") throw new Error(first.message);
  throw new XentError(first.code as ErrorCode, first.message, first.context);
}
