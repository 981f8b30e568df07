/**
 * Parquet's RLE/bit-packing hybrid (definition and repetition levels, dictionary indices,
 * RLE booleans): runs of one repeated value or groups of 8 bit-packed values, LSB first.
 * Strict: `count` values must come out of `bytes[start, end)`, and a run's bytes must lie
 * inside them; what a run holds past `count` (bit-packing pads to 8) is dropped.
 */
export function readHybrid(
  bytes: Uint8Array,
  start: number,
  end: number,
  width: number,
  out: Uint8Array | Int32Array,
  count: number,
): void {
  if (width < 0 || width > 32) throw new Error(`bit width ${width}`);
  const mask = width === 32 ? 0xffffffff : 2 ** width - 1;
  const valueBytes = (width + 7) >> 3;
  let i = start;
  let n = 0;
  while (n < count) {
    if (i >= end) throw new Error(`${count - n} of ${count} values missing`);
    // The run header: a ULEB128 varint.
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      if (i >= end || shift > 28) throw new Error("bad run header");
      const b = bytes[i++]!;
      header += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    if (header % 2 === 0) {
      const run = header / 2;
      if (i + valueBytes > end) throw new Error("run value past the data");
      let v = 0;
      for (let k = 0; k < valueBytes; k++) v += bytes[i + k]! * 2 ** (8 * k);
      i += valueBytes;
      if (v > mask) throw new Error(`value ${v} wider than ${width} bits`);
      const take = Math.min(run, count - n);
      out.fill(v, n, n + take);
      n += take;
    } else {
      const values = ((header - 1) / 2) * 8;
      const runBytes = (values * width) / 8;
      if (i + runBytes > end) throw new Error("bit-packed run past the data");
      const take = Math.min(values, count - n);
      unpack(bytes, i, width, mask, out, n, take);
      i += runBytes;
      n += take;
    }
  }
}

function unpack(
  bytes: Uint8Array,
  at: number,
  width: number,
  mask: number,
  out: Uint8Array | Int32Array,
  to: number,
  count: number,
): void {
  if (width === 0) {
    out.fill(0, to, to + count);
    return;
  }
  let bit = 0;
  if (width <= 25) {
    // Four bytes hold any value of ≤ 25 bits at any bit offset.
    for (let k = 0; k < count; k++, bit += width) {
      const j = at + (bit >> 3);
      const word = bytes[j]! | (bytes[j + 1]! << 8) | (bytes[j + 2]! << 16) | (bytes[j + 3]! << 24);
      out[to + k] = (word >>> (bit & 7)) & mask;
    }
    return;
  }
  for (let k = 0; k < count; k++, bit += width) {
    const j = at + (bit >> 3);
    let word = 0;
    for (let b = 0; b < 5; b++) word += (bytes[j + b] ?? 0) * 2 ** (8 * b);
    out[to + k] = Math.floor(word / 2 ** (bit & 7)) % 2 ** width;
  }
}

/** Bits needed for values up to `max` (a level's width). */
export const bitWidth = (max: number): number => (max === 0 ? 0 : 32 - Math.clz32(max));
