import type { Scores } from "./types.js";

/** How far a row of probabilities may sum from 1: float32 softmax outputs of 256k classes stay well within it. */
export const SUM_TOLERANCE = 1e-3;

/**
 * Watches whether every row read as logits could be a probability distribution (every value in
 * [0, 1], the row summing to 1 ± SUM_TOLERANCE): softmax outputs passed as logits give a plausible
 * but wrong loss. Real logits end the watch at their first negative value or value above 1, so
 * it costs next to nothing; only rows that look like probabilities are summed.
 */
export class ProbabilityLook {
  possible = true;
  rows = 0;

  /**
   * `rowsSumToOne` false (binary and multilabel): sigmoid outputs have no row sum to check, and
   * logits of a trained model all in [0, 1] are as unlikely as softmax rows are.
   */
  constructor(readonly rowsSumToOne = true) {}

  observe(scores: Scores, rows: number, C: number): void {
    if (!this.possible) return;
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = r * C, end = c + C; c < end; c++) {
        const x = scores[c]!;
        if (!(x >= 0 && x <= 1)) {
          this.possible = false;
          return;
        }
        sum += x;
      }
      if (this.rowsSumToOne && !(Math.abs(sum - 1) <= SUM_TOLERANCE)) {
        this.possible = false;
        return;
      }
    }
    this.rows += rows;
  }

  merge(other: { possible: boolean; rows: number }): void {
    this.possible &&= other.possible;
    this.rows += other.rows;
  }

  /** True when rows were seen and every one looked like probabilities. */
  get suspicious(): boolean {
    return this.possible && this.rows > 0;
  }
}
