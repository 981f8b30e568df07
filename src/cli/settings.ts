import { tmpdir } from "node:os";
import { PROGRESS_DELAY_MS } from "../output/progress.js";
import { colourLevel } from "../output/style.js";
import { PARALLEL_MIN_BYTES, SPILL_MIN_BYTES } from "../parallel/plan.js";
import { RUN_BYTES } from "../parallel/spill.js";
import type { Slicing } from "../readers/arrow/arrow.js";
import type { CsvParser } from "../readers/csv/table.js";

/**
 * What the process's environment says, read in one place (the CLI) and passed down as
 * parameters: product code below src/cli/ reads no environment variable.
 */
export interface Settings {
  /** XENT_DEBUG: say which evaluation path runs, and print stacks of internal errors. */
  debug: boolean;
  /** XENT_PARALLEL_MIN_BYTES: inputs below this stay on one thread (tests lower it). */
  parallelMinBytes: number;
  /** TMPDIR (os.tmpdir()): where large compressed batches of class columns are decoded first. */
  tempDir: string;
  /** XENT_SPILL_MIN_BYTES: batches whose decoded scores are larger go there (tests lower it). */
  spillMinBytes: number;
  /** XENT_SPILL_RUN_BYTES: decoded columns a worker holds at a time there (tests lower it). */
  spillRunBytes: number;
  /**
   * XENT_ARROW_SLICE_BYTES: Arrow batches above this are read in slices of about this (tests, the
   * fuzzer); TMPDIR: where a zstd batch of many columns is decoded first.
   */
  arrowSlicing: Slicing;
  /** XENT_PROGRESS_DELAY_MS: how long a run goes before the bar shows (the terminal test sets 0). */
  progressDelayMs: number;
  /** XENT_CSV_PARSER=csv-parse: read CSV data with csv-parse alone (tests compare the paths). */
  csvParser: CsvParser;
  /** FORCE_COLOR, NO_COLOR and whether stdout is a terminal: the table's colour level. */
  colour: 0 | 1 | 2 | 3;
}

export function readSettings(env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): Settings {
  const number = (text: string | undefined, fallback: number) => {
    const x = Number(text);
    return text !== undefined && text !== "" && Number.isFinite(x) && x >= 0 ? x : fallback;
  };
  return {
    debug: Boolean(env.XENT_DEBUG),
    parallelMinBytes: number(env.XENT_PARALLEL_MIN_BYTES, PARALLEL_MIN_BYTES),
    tempDir: tmpdir(),
    spillMinBytes: number(env.XENT_SPILL_MIN_BYTES, SPILL_MIN_BYTES),
    spillRunBytes: number(env.XENT_SPILL_RUN_BYTES, RUN_BYTES),
    arrowSlicing: {
      ...(env.XENT_ARROW_SLICE_BYTES === undefined || env.XENT_ARROW_SLICE_BYTES === ""
        ? {}
        : {
            batchBytes: number(env.XENT_ARROW_SLICE_BYTES, 0),
            sliceBytes: number(env.XENT_ARROW_SLICE_BYTES, 0),
            // …and every compressed batch read through the temporary file.
            streamsAtOnce: 0,
          }),
      tempDir: tmpdir(),
    },
    progressDelayMs: number(env.XENT_PROGRESS_DELAY_MS, PROGRESS_DELAY_MS),
    csvParser: env.XENT_CSV_PARSER === "csv-parse" ? "csv-parse" : "fast",
    colour: colourLevel(env, stdoutIsTTY),
  };
}
