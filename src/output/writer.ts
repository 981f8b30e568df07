import { fstatSync, ftruncateSync } from "node:fs";
import type { Writable } from "node:stream";
import { XentError } from "../errors.js";

/** Thrown once the reader of stdout has gone away (`| head`): main ends quietly with exit 0. */
export class BrokenPipe extends Error {
  constructor() {
    super("stdout closed");
    this.name = "BrokenPipe";
  }
}

/**
 * All output goes through one Writer, which waits for 'drain' when the stream's buffer is full
 * (memory stays bounded when stdout is slow), turns EPIPE into BrokenPipe and any other write
 * error (ENOSPC on a full disk or /dev/full, EBADF) into an input/output error: exit 2 with one
 * line, never an uncaught exception.
 */
export class Writer {
  private closed = false;
  private failure: NodeJS.ErrnoException | null = null;

  /** `fd`: the stream's file descriptor, when output that was started may have to be taken back. */
  constructor(
    private readonly stream: Writable,
    private readonly fd?: number,
  ) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") this.closed = true;
      else this.failure ??= e;
    });
  }

  private check(): void {
    if (this.failure) {
      throw new XentError("io", `cannot write the output: ${this.failure.code ?? this.failure.message}`);
    }
    if (this.closed) throw new BrokenPipe();
  }

  /**
   * Where output written from now on starts, when it goes to a regular file (null otherwise):
   * a document cut short by a signal can then be taken back with truncate().
   */
  mark(): number | null {
    if (this.fd === undefined) return null;
    try {
      const s = fstatSync(this.fd);
      return s.isFile() ? s.size : null;
    } catch {
      return null;
    }
  }

  /** Takes a regular file back to `mark` bytes (see mark()). */
  truncate(mark: number): void {
    if (this.fd === undefined) return;
    try {
      ftruncateSync(this.fd, mark);
    } catch {
      // Nothing more can be done for an output that cannot be truncated.
    }
  }

  async write(text: string): Promise<void> {
    this.check();
    if (this.stream.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off("drain", done);
        this.stream.off("error", done);
        this.stream.off("close", done);
        resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("error", done);
      this.stream.on("close", done);
    });
    this.check();
  }

  /** Ends the stream (a file) and resolves once it is flushed and closed. */
  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.stream.once("error", reject);
      this.stream.end(() => resolve());
    });
  }

  /** Resolves once everything written has been handed to the operating system. */
  async end(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => this.stream.write("", () => resolve()));
    if (this.failure) this.check();
  }
}

/** Rows of text per write: a whole block (100k rows) would make a string of megabytes. */
const ROWS_PER_WRITE = 2048;

/** Writes the text of `rows` rows, a few thousand at a time, waiting for the stream to drain. */
export async function writeRows(out: Writer, rows: number, line: (r: number) => string): Promise<void> {
  for (let from = 0; from < rows; from += ROWS_PER_WRITE) {
    const to = Math.min(rows, from + ROWS_PER_WRITE);
    let text = "";
    for (let r = from; r < to; r++) text += line(r);
    await out.write(text);
  }
}
