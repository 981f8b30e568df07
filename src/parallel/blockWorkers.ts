import { Worker } from "node:worker_threads";
import type { RowResults } from "../core/rowResults.js";
import type { RowBlock } from "../core/types.js";
import { type ErrorCode, XentError } from "../errors.js";
import type { EvaluateOptions } from "../evaluate.js";
import { mergeState, Stats, type StatsState } from "../metrics/stats.js";
import type { WorkerError } from "./fileJob.js";
import { WORKER_URL } from "./workerUrl.js";

/**
 * A worker holds one block and its results at a time: small heaps make it collect early, which
 * keeps the process's peak memory down (each worker is a whole V8 isolate).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 48 };

/** What a block-mode worker is told at start. */
export interface BlockWorkerInit {
  mode: "blocks";
  classes: number;
  loss: EvaluateOptions["loss"];
  perClass: boolean;
  worst: number;
  /** Send each block's per-row results back (per-sample output). */
  results: boolean;
}

export type BlockReply =
  | { type: "block"; seq: number; results?: RowResults; scores?: ArrayBuffer }
  | { type: "state"; state: StatsState }
  | { type: "error"; seq: number; error: WorkerError };

/**
 * Buffers that went to a worker and came back: blocks are copied into them instead of into new
 * allocations, which V8 would collect late (memory) or often (time).
 */
class BufferPool {
  private free: ArrayBuffer[] = [];
  take(bytes: number): ArrayBuffer {
    const i = this.free.findIndex((b) => b.byteLength >= bytes);
    return i >= 0 ? this.free.splice(i, 1)[0]! : new ArrayBuffer(bytes);
  }
  give(buffer: ArrayBuffer | undefined): void {
    if (buffer && this.free.length < 4) this.free.push(buffer);
  }
}

/** A copy of a typed array into a buffer of its own (from the pool), which can be transferred. */
function own<T extends Float32Array | Float64Array | Uint32Array>(a: T, pool: BufferPool): T {
  const Ctor = a.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => T;
  const copy = new Ctor(pool.take(a.byteLength), 0, a.length);
  copy.set(a);
  return copy;
}

/**
 * Evaluates blocks from any reader on worker threads: this thread reads and parses, each block's
 * scores are copied into a buffer of their own and handed over (transferred, not cloned), and
 * the workers keep exact partial sums, merged at the end. Per-row results, when printed, come
 * back and are passed on in block order, so output is the same as with one thread. At most two
 * blocks per worker are in flight: memory stays bounded.
 */
export async function evaluateOnBlockWorkers(
  blocks: AsyncIterable<RowBlock>,
  options: EvaluateOptions,
  workers: number,
): Promise<Stats> {
  const init: BlockWorkerInit = {
    mode: "blocks",
    classes: options.classes,
    loss: options.loss,
    perClass: options.perClass,
    worst: options.worst,
    results: options.onRows !== undefined,
  };
  const threads = Array.from(
    { length: workers },
    () => new Worker(WORKER_URL, { workerData: init, resourceLimits: WORKER_LIMITS }),
  );
  const waiting = new Map<
    number,
    { resolve: (r: RowResults | undefined) => void; reject: (e: unknown) => void }
  >();
  const states: StatsState[] = [];
  const buffers = new BufferPool();
  let finished = 0;
  let failure: unknown = null;
  const allDone = new Promise<void>((resolve, reject) => {
    for (const t of threads) {
      t.on("message", (m: BlockReply) => {
        if (m.type === "block") {
          buffers.give(m.scores);
          waiting.get(m.seq)?.resolve(m.results);
        } else if (m.type === "state") states.push(m.state);
        else waiting.get(m.seq)?.reject(toError(m.error, options.predictionsPath));
        if (m.type !== "state") waiting.delete((m as { seq: number }).seq);
      });
      t.on("error", (e) => {
        failure = e;
        reject(e);
      });
      t.on("exit", () => {
        if (++finished === threads.length) resolve();
      });
    }
  });
  const inFlight: { seq: number; block: RowBlock; done: Promise<RowResults | undefined> }[] = [];
  const settle = async () => {
    const next = inFlight.shift()!;
    const results = await next.done;
    if (results && options.onRows) await options.onRows(results, next.block);
    options.onProgress?.(next.block.start + next.block.rows);
  };
  try {
    let seq = 0;
    for await (const block of blocks) {
      if (failure) throw failure;
      if (inFlight.length >= workers + 1) await settle();
      options.look?.observe(block.scores, block.rows, block.classes);
      const scores = own(block.scores, buffers);
      const targets = block.targets.values.slice();
      const lines = block.lines?.slice();
      const message = {
        type: "block",
        seq,
        block: { ...block, scores, targets: { kind: block.targets.kind, values: targets }, lines },
      };
      const done = new Promise<RowResults | undefined>((resolve, reject) =>
        waiting.set(seq, { resolve, reject }),
      );
      done.catch(() => {});
      const transfer = [scores.buffer, targets.buffer, ...(lines ? [lines.buffer] : [])];
      threads[seq % workers]!.postMessage(message, transfer as ArrayBuffer[]);
      inFlight.push({ seq, block: { ...block, scores: new Float32Array(0) }, done });
      seq++;
    }
    while (inFlight.length > 0) await settle();
    for (const t of threads) t.postMessage({ type: "finish" });
    await allDone;
  } finally {
    for (const t of threads) void t.terminate();
  }
  const stats = new Stats(options.classes, options.loss, {
    perClass: options.perClass,
    worst: options.worst,
  });
  for (const state of states) mergeState(stats, state);
  return stats;
}

function toError(e: WorkerError, predictionsPath: string): unknown {
  if (e.code === "internal") return new Error(e.message);
  return new XentError(e.code as ErrorCode, e.message, { file: predictionsPath, ...e.context });
}
