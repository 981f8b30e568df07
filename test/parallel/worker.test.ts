import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { DEFAULT_IGNORE_INDEX, type LossOptions } from "../../src/core/types.js";
import { mergeState, Stats, type StatsState, summarize } from "../../src/metrics/stats.js";
import type { FileJob } from "../../src/parallel/fileJob.js";
import { JobThreads } from "../../src/parallel/threads.js";
import { openPredictions, openTargets } from "../../src/readers/open.js";
import { tempDir, writeNpy } from "../helpers/files.js";
import { DEFAULT_OPTIONS } from "../helpers/options.js";
import { evalJson, ROOT } from "../helpers/run.js";

/** The bundled worker script, as the CLI starts it (`npm test` builds it first). */
const WORKER = `${ROOT}dist/bundle/worker.js`;

const options: LossOptions = { ...DEFAULT_OPTIONS, smoothing: 0.1, topK: [2] };

function runWorker(job: FileJob): Promise<{ type: string; state?: StatsState; error?: { message: string } }> {
  return new Promise((resolve, reject) => {
    // As threads.ts starts it: told its job by message, it waits for the next one after answering.
    const worker = new Worker(WORKER, { workerData: { mode: "jobs" } });
    worker.on("message", (m) => {
      if (m.type === "progress") return;
      resolve(m);
      void worker.terminate();
    });
    worker.on("error", reject);
    worker.postMessage({ type: "job", job });
  });
}

describe("a file worker (the built worker script: npm test builds it first)", () => {
  const dir = tempDir();
  const N = 37;
  const C = 5;
  const logits = Array.from({ length: N * C }, (_, i) => Math.sin(i * 1.7) * 4);
  const labels = Array.from({ length: N }, (_, i) => (i % 9 === 0 ? DEFAULT_IGNORE_INDEX : (i * 3) % C));
  const p = writeNpy(dir, "p.npy", logits, [N, C], "<f4");
  const y = writeNpy(dir, "y.npy", labels, [N], "<i8");

  async function job(workers: number): Promise<FileJob[]> {
    const opened = await openPredictions(p, undefined, {}, true);
    const targets = await openTargets(y, undefined, {}, opened);
    const plan = (await opened.source.segments!(8, targets))!;
    await opened.source[Symbol.asyncDispose]();
    await targets[Symbol.asyncDispose]();
    expect(plan).toEqual(expect.objectContaining({ scoresPath: p, targetsPath: y }));
    return Array.from({ length: workers }, (_, worker) => ({
      predictions: { path: plan.scoresPath, dtype: plan.scores },
      targets: { path: plan.targetsPath, dtype: plan.targets },
      segments: plan.segments,
      sliceRows: 8,
      classes: C,
      worker,
      workers,
      loss: options,
      perClass: true,
      worst: 4,
      look: true,
      progress: false,
    }));
  }

  it("reads its segments itself and sends sums that merge to the one-thread numbers, bit for bit", async () => {
    const args = [
      p,
      y,
      "--json",
      "--smoothing",
      "0.1",
      "--top-k",
      "2",
      "--per-class",
      "--worst",
      "4",
      "--threads",
      "1",
    ];
    const oneThread = await evalJson(["eval", ...args]);
    // Every workers-th segment, or (a shared counter) whichever thread is free takes the next.
    const next = new Int32Array(new SharedArrayBuffer(4));
    for (const [workers, shared] of [
      [1, undefined],
      [3, undefined],
      [3, next],
    ] as const) {
      const stats = new Stats(C, options, { perClass: true, worst: 4 });
      const jobs = (await job(workers)).map((j) => ({ ...j, next: shared }));
      for (const reply of await Promise.all(jobs.map(runWorker))) {
        expect(reply.type).toBe("done");
        mergeState(stats, reply.state!);
      }
      const summary = summarize(stats, null);
      expect(summary.loss).toBe(oneThread.loss);
      expect(summary.metrics).toEqual(oneThread.metrics);
      expect(summary.counts).toEqual(oneThread.counts);
    }
    // Five segments of 8 rows (37 rows): claimed 0–4, then one past the end by each of the 3.
    expect(next[0]).toBe(5 + 3);
  });

  it("reports a bad target with its file and row instead of a sum", async () => {
    const bad = writeNpy(
      dir,
      "bad.npy",
      labels.map((v, i) => (i === 20 ? 7 : v)),
      [N],
      "<i8",
    );
    const [one] = await job(1);
    const reply = await runWorker({ ...one!, targets: { ...one!.targets, path: bad } });
    expect(reply.type).toBe("error");
    expect(reply.error!.message).toBe("target 7 is not a class index in [0, 5)");
  });

  it("takes one job after another on the same thread: an error, then sums equal to a fresh thread's", async () => {
    const threads = new JobThreads(() => new Worker(WORKER, { workerData: { mode: "jobs" } }));
    try {
      const [one] = await job(1);
      const bad = { ...one!, targets: { ...one!.targets, path: `${dir}/missing.npy` } };
      const replies: { type: string; state?: StatsState }[] = [];
      const answer = (m: { type: string; state?: StatsState }) => {
        replies.push(m);
        return true;
      };
      await threads.run(0, bad, answer);
      await threads.run(0, one, answer);
      expect(replies.map((r) => r.type)).toEqual(["error", "done"]);
      expect(replies[1]!.state).toEqual((await runWorker(one!)).state);
    } finally {
      await threads.close();
    }
  });

  it("rejects a job whose thread exits without answering (the total would be silently short)", async () => {
    const threads = new JobThreads(() => new Worker("process.exit(3)", { eval: true }));
    await expect(threads.run(0, {}, () => true)).rejects.toThrow("worker 0 exited (3) without its answer");
    await threads.close();
  });
});
