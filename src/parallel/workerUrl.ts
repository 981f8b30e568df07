import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

/** The worker script: in dist/ next to this module (under vitest, src/ has only .ts: no workers). */
export const WORKER_URL = new URL("./worker.js", import.meta.url);

export function workersAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER_URL));
}

export function defaultThreads(): number {
  return availableParallelism();
}
