import { makeKernel } from "./core/kernel.js";
import type { ProbabilityLook } from "./core/probabilityLook.js";
import { type RowResults, rowResultsFor } from "./core/rowResults.js";
import type { LossOptions, RowBlock } from "./core/types.js";
import { XentError } from "./errors.js";
import { Stats } from "./metrics/stats.js";

export interface EvaluateOptions {
  classes: number;
  loss: LossOptions;
  perClass: boolean;
  worst: number;
  /** The predictions file, named in errors about scores. */
  predictionsPath: string;
  /** Receives every block's per-row results (per-sample output, groups), in order. */
  onRows?: ((results: RowResults, block: RowBlock) => Promise<void>) | undefined;
  /** Told the number of rows done after every block. */
  onProgress?: ((rows: number) => void) | undefined;
  /** Watches whether logits look like probabilities (for a warning). */
  look?: ProbabilityLook | undefined;
}

/**
 * The streaming core: blocks in, exact partial sums out. It knows nothing of file formats or
 * printers; memory is one block and its results at a time.
 */
export async function evaluate(blocks: AsyncIterable<RowBlock>, options: EvaluateOptions): Promise<Stats> {
  const stats = new Stats(options.classes, options.loss, {
    perClass: options.perClass,
    worst: options.worst,
  });
  const kernel = makeKernel(options.loss, options.classes);
  let results: RowResults | undefined;
  for await (const block of blocks) {
    results = rowResultsFor(block, results, kernel.labels);
    options.look?.observe(block.scores, block.rows, block.classes);
    try {
      kernel.evaluate(block, results);
    } catch (e) {
      throw e instanceof XentError && e.context.file === undefined
        ? e.at({ file: options.predictionsPath })
        : e;
    }
    stats.add(results, block);
    if (options.onRows) await options.onRows(results, block);
    options.onProgress?.(block.start + block.rows);
    // Readers that read synchronously (CSV, NPY) never hand the event loop a turn of its own:
    // without this, Ctrl-C waited for the end of the input (and the run exited 0).
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return stats;
}
