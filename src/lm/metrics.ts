import type { GroupSummary } from "../metrics/groups.js";
import type { Summary } from "../metrics/stats.js";

/** What a language-model run adds to the metrics: `--per-sequence`, and `--bytes` (summed). */
export interface LanguageModelRun {
  perSequence: boolean;
  bytes: number | null;
}

/** The metrics a language-model run adds (what assertions may name). */
export const languageModelMetricNames = (lm: LanguageModelRun | undefined): string[] =>
  lm === undefined
    ? []
    : [
        "bits_per_token",
        ...(lm.bytes !== null ? ["bits_per_byte", "byte_perplexity"] : []),
        ...(lm.perSequence ? ["sequence_perplexity"] : []),
      ];

/**
 * Language-model runs: bits_per_token (nll / ln 2); with --bytes, lm-evaluation-harness's
 * bits_per_byte (Σ nll / (ln 2 · bytes)) and byte_perplexity (exp(Σ nll / bytes)); with
 * --per-sequence, sequence_perplexity, the mean over sequences of exp(their mean nll) (sequences
 * without a scored token left out).
 */
export function addLanguageModelMetrics(
  summary: Summary,
  used: number,
  lm: LanguageModelRun,
  sequences: readonly GroupSummary[] | null,
): void {
  const nll = summary.metrics.nll!;
  summary.metrics.bits_per_token = nll / Math.LN2;
  if (lm.bytes !== null) {
    const total = nll * used;
    summary.metrics.bits_per_byte = total / (Math.LN2 * lm.bytes);
    summary.metrics.byte_perplexity = Math.exp(total / lm.bytes);
  }
  if (lm.perSequence && sequences) {
    const perplexities = sequences.filter((g) => g.metrics !== null).map((g) => Math.exp(g.metrics!.nll!));
    summary.metrics.sequence_perplexity = perplexities.reduce((a, b) => a + b, 0) / perplexities.length;
  }
}
