/**
 * McNemar's exact test of paired accuracy: of the n = b + c discordant rows (b right only in the
 * baseline, c right only in the candidate), under "no difference" each is either with
 * probability 1/2, so the two-sided p-value is 2·P(Binomial(n, 1/2) ≤ min(b, c)), at most 1
 * (scipy.stats.binomtest(min(b, c), n).pvalue for b ≠ c; 1 when b = c).
 * Summed in log space: n may be millions of rows.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0 || b === c) return 1;
  const k = Math.min(b, c);
  // log C(n, j) − n·log 2, j = 0…k, summed with log-sum-exp.
  const logHalf = -n * Math.LN2;
  let logTerm = logHalf; // j = 0
  let max = logTerm;
  const terms = [logTerm];
  for (let j = 0; j < k; j++) {
    logTerm += Math.log(n - j) - Math.log(j + 1);
    terms.push(logTerm);
    if (logTerm > max) max = logTerm;
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return Math.min(1, 2 * Math.exp(max + Math.log(sum)));
}
