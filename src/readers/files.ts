import { readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { XentError } from "../errors.js";

export async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r");
  } catch (e) {
    throw new XentError("io", `cannot open: ${describeIoError(e)}`, { file: path });
  }
}

export function describeIoError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "is a directory";
  if (code === "EACCES") return "permission denied";
  return e instanceof Error ? e.message : String(e);
}

/** Reads exactly `length` bytes at `position` into a fresh, aligned buffer. */
export async function readExactly(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(new ArrayBuffer(length));
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) throw new XentError("io", `unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
  return bytes;
}

/** Reads exactly `into.length` bytes at `position` of `fd` (worker threads, and slices of Arrow batches). */
export function readFullySync(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new XentError("io", `unexpected end of file at byte ${position + done}`);
    done += n;
  }
}
