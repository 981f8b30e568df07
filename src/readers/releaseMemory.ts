import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collect: ((options?: { execution?: "async" | "sync" }) => void) | null | undefined;
let pending = 0;

/** Dead batch bytes allowed to pile up before a collection. */
const SLACK = 32 << 20;

/**
 * Reports `bytes` of record-batch buffers just dropped, and asks V8 for a garbage collection once
 * 64 MiB of them have piled up.
 *
 * apache-arrow allocates a fresh buffer for every record batch body; V8 counts such ArrayBuffers
 * only as "external" memory and lets many dead ones accumulate (a 1 GiB file of 32 MiB batches
 * peaked at 265 MiB). A full collection after every batch bounded that but cost 1.5 s on the same
 * file; one per 64 MiB keeps both in check. `--expose-gc` cannot be given to the launcher's node,
 * so the flag is set at run time and `gc` fetched from a fresh context, the documented way.
 */
export function releaseMemory(bytes: number): void {
  pending += bytes;
  if (pending < SLACK) return;
  pending = 0;
  if (collect === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      collect = runInNewContext("gc") as (options?: { execution?: "async" | "sync" }) => void;
    } catch {
      collect = null;
    }
  }
  collect?.({ execution: "async" });
}
