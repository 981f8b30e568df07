import fc from "fast-check";
import { readRleBitPackedHybrid } from "hyparquet/src/encoding.js";
import { describe, expect, it } from "vitest";
import { bitWidth, readHybrid } from "../../../src/readers/parquet/levels.js";

/** Parquet's hybrid encoding of `values`: runs of ≥ 8 equal values as RLE, the rest bit-packed in groups of 8. */
function encode(values: number[], width: number): Uint8Array {
  const out: number[] = [];
  const varint = (n: number) => {
    do {
      out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
      n = Math.floor(n / 128);
    } while (n > 0);
  };
  let i = 0;
  while (i < values.length) {
    let run = 1;
    while (i + run < values.length && values[i + run] === values[i]) run++;
    if (run >= 8) {
      varint(run * 2);
      for (let k = 0; k < (width + 7) >> 3; k++) out.push((values[i]! >> (8 * k)) & 0xff);
      i += run;
      continue;
    }
    const group = values.slice(i, i + 8);
    while (group.length < 8) group.push(0);
    varint(3);
    let bits = 0n;
    group.forEach((v, k) => {
      bits |= BigInt(v) << BigInt(k * width);
    });
    for (let k = 0; k < width; k++) out.push(Number((bits >> BigInt(8 * k)) & 0xffn));
    i += 8;
  }
  return Uint8Array.from(out);
}

describe("readHybrid (RLE / bit-packing hybrid)", () => {
  it("decodes what the encoder wrote, as hyparquet does, for every width (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 20 })), { minLength: 1, maxLength: 30 }),
        (width, runs) => {
          const values = runs.flatMap(([v, n]) => Array<number>(n).fill(v % 2 ** width));
          const bytes = encode(values, width);
          const out = new Int32Array(values.length);
          readHybrid(bytes, 0, bytes.length, width, out, values.length);
          expect(Array.from(out)).toEqual(values);
          const theirs = new Array<number>(values.length);
          readRleBitPackedHybrid(
            { view: new DataView(bytes.buffer), offset: 0 },
            width,
            theirs,
            bytes.length,
          );
          expect(theirs).toEqual(values);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("refuses runs that end before the count, or lie past the data", () => {
    const bytes = encode([1, 1, 1, 1, 1, 1, 1, 1], 1);
    expect(() => readHybrid(bytes, 0, bytes.length, 1, new Uint8Array(9), 9)).toThrow(
      /1 of 9 values missing/,
    );
    expect(() => readHybrid(bytes, 0, 1, 1, new Uint8Array(8), 8)).toThrow(/run value past the data/);
    const packed = encode([1, 0, 1, 0, 1], 3);
    expect(() => readHybrid(packed, 0, packed.length - 1, 3, new Uint8Array(5), 5)).toThrow(/past the data/);
  });

  it("refuses an RLE value wider than the bit width", () => {
    expect(() => readHybrid(Uint8Array.of(16, 5), 0, 2, 2, new Uint8Array(8), 8)).toThrow(
      /wider than 2 bits/,
    );
  });

  it("bitWidth is the bits of the largest level", () => {
    expect([0, 1, 2, 3, 4, 255, 256].map(bitWidth)).toEqual([0, 1, 2, 2, 3, 8, 9]);
  });
});
