import type { Writable } from "node:stream";

export interface ProgressStream extends Writable {
  isTTY?: boolean;
  columns?: number;
}

/** A fraction done in [0, 1], or null when the input's size is not known (standard input). */
export type FractionDone = () => number | null;

/** Runs shorter than this show no bar (the CLI's XENT_PROGRESS_DELAY_MS changes it: the terminal test sets 0). */
export const PROGRESS_DELAY_MS = 1000;
const INTERVAL_MS = 100;

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(Math.round(n));
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`
    : `${m}:${String(s % 60).padStart(2, "0")}`;
}

/**
 * A one-line progress bar on stderr: percentage, rows, rate and time left. It appears only after
 * a second (short runs stay silent), redraws at most ten times a second, and erases itself when
 * the run ends, so that what remains on the terminal is the output.
 */
export class Progress {
  private readonly started = Date.now();
  private last = 0;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly fraction: FractionDone,
    private readonly now: () => number = Date.now,
    private readonly delayMs = PROGRESS_DELAY_MS,
  ) {}

  update(rows: number): void {
    const t = this.now();
    if (t - this.started < this.delayMs || t - this.last < INTERVAL_MS) return;
    this.last = t;
    const elapsed = (t - this.started) / 1000;
    const rate = rows / elapsed;
    const f = this.fraction();
    const width = Math.max(20, Math.min(this.stream.columns || 80, 100) - 1);
    const stats = `${human(rows)} rows · ${human(rate)} rows/s`;
    let line: string;
    if (f === null) line = `xent ${stats} · ${clock(elapsed)}`;
    else {
      const eta = f > 0 ? (elapsed * (1 - f)) / f : Number.NaN;
      const tail = ` ${(100 * f).toFixed(0).padStart(3)}% · ${stats} · ${Number.isFinite(eta) ? `${clock(eta)} left` : ""}`;
      const barWidth = Math.max(10, width - tail.length - 2);
      const filled = Math.round(barWidth * Math.min(1, f));
      line = `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]${tail}`;
    }
    this.stream.write(`\r\x1b[2K${line.slice(0, width)}`);
    this.drawn = true;
  }

  /** Erases the bar, if one was drawn. */
  done(): void {
    if (this.drawn) this.stream.write("\r\x1b[2K");
    this.drawn = false;
  }
}
