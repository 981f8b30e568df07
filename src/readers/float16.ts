/** IEEE 754 binary16 → number (exact: every half is a float32 and a double). */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

const bfBits = new Uint32Array(1);
const bfFloat = new Float32Array(bfBits.buffer);

/** bfloat16 → number, exactly: it is the top half of a float32's bits. */
export function bfloat16ToNumber(h: number): number {
  bfBits[0] = h << 16;
  return bfFloat[0]!;
}
