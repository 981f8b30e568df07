import type { Writable } from "node:stream";

/** Thrown once the reader of stdout has gone away (`| head`): main ends quietly with exit 0. */
export class BrokenPipe extends Error {
  constructor() {
    super("stdout closed");
    this.name = "BrokenPipe";
  }
}

/**
 * All output goes through one Writer, which waits for 'drain' when the stream's buffer is full
 * (memory stays bounded when stdout is slow) and turns EPIPE into BrokenPipe.
 */
export class Writer {
  private closed = false;

  constructor(private readonly stream: Writable) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") this.closed = true;
      else throw e;
    });
  }

  async write(text: string): Promise<void> {
    if (this.closed) throw new BrokenPipe();
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
    if (this.closed) throw new BrokenPipe();
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
