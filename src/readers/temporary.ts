import { randomUUID } from "node:crypto";
import { accessSync, constants, openSync, statfsSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { XentError } from "../errors.js";

/**
 * Free space kept on a temporary file's disk beyond the copy: a run that would fill the disk reads
 * the batch in memory instead (as it would without a temporary directory).
 */
export const DISK_MARGIN = 256 * 2 ** 20;

/**
 * Bytes free for this process in `dir`'s file system; 0 when `dir` is no directory this process
 * can write in (TMPDIR naming a file, a read-only mount): the batch is then read in memory,
 * rather than the run failing where it worked before.
 */
export function freeSpace(dir: string): number {
  try {
    if (!statSync(dir).isDirectory()) return 0;
    accessSync(dir, constants.W_OK | constants.X_OK);
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

/**
 * A temporary file in `dir`, removed from the directory as soon as it is open: the descriptor
 * keeps it, and it goes with the process however the process ends (an interrupt, a crash).
 * Worker threads share the process's descriptors, so they can read and write it too.
 */
export function openTemporary(dir: string): number {
  const path = join(dir, `xent-${process.pid}-${randomUUID()}.tmp`);
  let fd: number;
  try {
    fd = openSync(path, "wx+", 0o600);
  } catch (e) {
    throw new XentError("io", `cannot create a temporary file in ${dir}: ${(e as Error).message}`);
  }
  unlinkSync(path);
  return fd;
}

/** Writes `bytes` at `position` of a temporary file; a full disk is an I/O error, not a bug. */
export function writeTemporary(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done, position + done);
    } catch (e) {
      throw new XentError("io", `cannot write the temporary file: ${(e as Error).message}`);
    }
  }
}
