/** Expected calibration error over 15 equal-width confidence bins (k/15, (k+1)/15]. */
export const ECE_BINS = 15;

/**
 * The bin of a confidence in (0, 1]: the first k with conf ≤ (k+1)/15, comparing against the
 * same double edges numpy's `np.linspace(0, 1, 16)[1:]` holds, so that a confidence of exactly
 * 1/3 lands where a numpy reference puts it.
 */
const EDGES = Array.from({ length: ECE_BINS }, (_, k) => (k + 1) / ECE_BINS);

export function eceBin(confidence: number): number {
  let k = Math.min(ECE_BINS - 1, Math.max(0, Math.ceil(confidence * ECE_BINS) - 1));
  while (k > 0 && confidence <= EDGES[k - 1]!) k--;
  while (k < ECE_BINS - 1 && confidence > EDGES[k]!) k++;
  return k;
}

/**
 * Binary calibration as torchmetrics' BinaryCalibrationError bins it (`bucketize(p, linspace(0,
 * 1, 16), right=True) − 1`): [k/15, (k+1)/15) for k < 15, and p = 1 in a 16th bin of its own.
 */
export const BINARY_ECE_BINS = ECE_BINS + 1;

const LEFT_EDGES = Array.from({ length: BINARY_ECE_BINS }, (_, k) => k / ECE_BINS);

export function binaryEceBin(p: number): number {
  let k = Math.min(ECE_BINS, Math.max(0, Math.floor(p * ECE_BINS)));
  while (k > 0 && p < LEFT_EDGES[k]!) k--;
  while (k < ECE_BINS && p >= LEFT_EDGES[k + 1]!) k++;
  return k;
}
