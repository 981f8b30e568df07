import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { prepareZstdStream, ZstdStream } from "../../src/readers/zstdStream.js";

/** fixtures/zstd/generate.sh: float32 (i % 97) / 4 for i < 300,000, zstd -19 --check. */
const frame = new Uint8Array(readFileSync(new URL("../../fixtures/zstd/pattern.zst", import.meta.url)));
const values = Float32Array.from({ length: 300_000 }, (_, i) => (i % 97) / 4);
const expected = new Uint8Array(values.buffer);

/** The frame handed over `window` bytes at a time, decoded into a buffer of `size` bytes. */
function decode(bytes: Uint8Array, size = expected.length, window?: number) {
  const into = new Uint8Array(size);
  const reads: number[] = [];
  const stream = new ZstdStream(
    (offset, length) => {
      reads.push(offset);
      return bytes.slice(offset, offset + length);
    },
    bytes.length,
    window,
  );
  try {
    stream.fill(into);
    stream.finish(into.length);
  } finally {
    stream.close();
  }
  return { n: into.length, into, reads };
}

beforeAll(prepareZstdStream);

describe("ZstdStream", () => {
  it("decodes a frame read a window at a time, whatever the window", () => {
    fc.assert(
      // Windows dividing the decoded length end the frame on a full output window.
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.constantFrom(8, 64, 1200, 4000)),
        (window) => {
          const { n, into } = decode(frame, expected.length, window);
          expect(n).toBe(expected.length);
          expect(Buffer.from(into).equals(Buffer.from(expected))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
    const { reads } = decode(frame, expected.length, 100);
    expect(reads).toEqual([0, 100, 200, 300]);
  });

  it("hands out the decoded bytes in pieces of any size, then checks the end", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 16, max: 5000 }),
        (sizes, window) => {
          const stream = new ZstdStream((offset, n) => frame.slice(offset, offset + n), frame.length, window);
          try {
            const out = new Uint8Array(expected.length);
            let at = 0;
            for (const size of sizes) {
              const n = Math.min(size, expected.length - at);
              stream.fill(out.subarray(at, at + n));
              at += n;
            }
            stream.fill(out.subarray(at));
            stream.finish(expected.length);
            expect(Buffer.from(out).equals(Buffer.from(expected))).toBe(true);
          } finally {
            stream.close();
          }
        },
      ),
      { numRuns: 30 },
    );
    const short = new ZstdStream((offset, n) => frame.slice(offset, offset + n), frame.length);
    short.fill(new Uint8Array(1000));
    expect(() => short.finish(1000)).toThrow(/decoding to more than 1000 bytes/);
    short.close();
    const long = new ZstdStream((offset, n) => frame.slice(offset, offset + n), frame.length);
    expect(() => long.fill(new Uint8Array(expected.length + 1))).toThrow(
      /decoding to 1200000 of the 1200001 bytes asked for/,
    );
    long.close();
  });

  it("refuses a frame cut short, at any length", () => {
    for (let cut = 0; cut < frame.length; cut += 7)
      expect(() => decode(frame.subarray(0, cut), expected.length, 64)).toThrow(
        /zstd frame cut short|corrupt zstd data/,
      );
  });

  it("refuses output past the buffer it fills", () => {
    expect(() => decode(frame, expected.length - 1)).toThrow(/decoding to more than 1199999 bytes/);
  });

  it("refuses a changed bit (the frame's checksum) and bytes after the frame, without spinning", () => {
    let refused = 0;
    for (let at = 0; at < frame.length; at++)
      for (const bit of [1, 16, 128]) {
        const flipped = frame.slice();
        flipped[at]! ^= bit;
        try {
          const { into } = decode(flipped, expected.length, 64);
          // A bit libzstd does not read (reserved, unused header bits) changes nothing.
          expect(Buffer.from(into).equals(Buffer.from(expected))).toBe(true);
        } catch (e) {
          expect((e as Error).message).toMatch(/zstd/);
          refused++;
        }
      }
    expect(refused).toBeGreaterThan(frame.length * 2);
    const trailing = new Uint8Array(frame.length + 4);
    trailing.set(frame);
    trailing.set([1, 2, 3, 4], frame.length);
    expect(() => decode(trailing)).toThrow(/zstd/);
  });

  it("decodes an empty input to nothing and says the frame is cut short", () => {
    expect(() => decode(new Uint8Array(0), 0)).toThrow(/cut short/);
  });
});
