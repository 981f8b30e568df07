import { closeSync, openSync, readSync } from "node:fs";
import { XentError } from "../errors.js";
import { describeIoError } from "./files.js";

/**
 * A small side file (class names, class weights) read whole, but never more than `limit` bytes:
 * a 1 GB file, or /dev/zero, which has no size to check first, is an error, not a full memory.
 */
export function readSmallFile(path: string, limit: number, flag: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new XentError("io", `${flag}: cannot open: ${describeIoError(e)}`, { file: path });
  }
  try {
    const pieces: Buffer[] = [];
    let total = 0;
    for (;;) {
      const piece = Buffer.alloc(1 << 16);
      const n = readSync(fd, piece, 0, piece.length, null);
      if (n === 0) break;
      total += n;
      if (total > limit)
        throw new XentError("usage", `${flag}: the file is larger than ${limit >> 20} MiB`, { file: path });
      pieces.push(piece.subarray(0, n));
    }
    return Buffer.concat(pieces);
  } catch (e) {
    throw e instanceof XentError
      ? e
      : new XentError("io", `${flag}: cannot read: ${describeIoError(e)}`, { file: path });
  } finally {
    closeSync(fd);
  }
}
