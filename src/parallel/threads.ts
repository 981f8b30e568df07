import { Worker } from "node:worker_threads";
import { WORKER_URL } from "./workerUrl.js";

/** What starts a file-job worker thread: it then waits for jobs by message (worker.ts). */
export interface JobThreadInit {
  mode: "jobs";
}

/**
 * File-job worker threads that take one job after another: a file whose batches are decoded into
 * a temporary file first has the same threads evaluate it. A thread takes ~50–100 ms to start
 * (Node's bootstrap, the bundle's compile, the kernel's WebAssembly), and a second set for the
 * second phase cost that again: 200 MB of LZ4 class columns, 0.80 s → 0.69 s with one set.
 */
export class JobThreads {
  private readonly threads: Worker[] = [];

  constructor(
    /** Starts a thread (tests start the built worker script, or one that fails). */
    private readonly start: () => Worker = () =>
      new Worker(WORKER_URL, { workerData: { mode: "jobs" } satisfies JobThreadInit }),
  ) {}

  /** Starts threads 0 … n − 1 now, ahead of their jobs. */
  startAll(n: number): this {
    if (n > 0) this.thread(n - 1);
    return this;
  }

  /** Thread k (started when first asked for). */
  thread(k: number): Worker {
    while (this.threads.length <= k) this.threads.push(this.start());
    return this.threads[k]!;
  }

  /**
   * Posts `job` to thread k; `answer` sees each message and says whether it was the last (the
   * job's result or error). Rejects if the thread fails or exits first: a thread that ends
   * without its answer would make the total silently short.
   */
  run<M>(k: number, job: unknown, answer: (message: M) => boolean): Promise<void> {
    const thread = this.thread(k);
    return new Promise<void>((resolve, reject) => {
      const stop = () => {
        thread.off("message", onMessage);
        thread.off("error", onError);
        thread.off("exit", onExit);
      };
      const onMessage = (m: M) => {
        if (!answer(m)) return;
        stop();
        resolve();
      };
      const onError = (e: Error) => {
        stop();
        reject(e);
      };
      const onExit = (code: number) => {
        stop();
        reject(new Error(`worker ${k} exited (${code}) without its answer`));
      };
      thread.on("message", onMessage);
      thread.on("error", onError);
      thread.on("exit", onExit);
      thread.postMessage({ type: "job", job });
    });
  }

  /** Ends every thread (they hold no open file between jobs). */
  async close(): Promise<void> {
    await Promise.all(this.threads.splice(0).map((t) => t.terminate()));
  }
}
