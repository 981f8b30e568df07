import type { RowResults } from "../core/rowResults.js";
import type { RowLabels } from "../core/types.js";
import type { Report, RunInfo } from "../wire/eval.js";

/**
 * The one interface every output format implements, as ripgrep's printers share one sink: the
 * evaluation loop knows nothing of formats, and a printer knows nothing of how rows were read.
 */
export interface Printer {
  begin(run: RunInfo): Promise<void>;
  /** Called once per block when per-sample output is on. */
  samples(results: RowResults, labels: RowLabels): Promise<void>;
  end(report: Report): Promise<void>;
  /** The run stops early (an error, Ctrl-C): drop anything half-written. */
  abort?(): void;
}
