import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeLz4Frame,
  decodeLz4FrameInto,
  Lz4Stream,
} from "../../../../src/readers/arrow/codecs/lz4Frame.js";
import { ROOT } from "../../../helpers/run.js";

const dir = `${ROOT}fixtures/formats/lz4/`;
const frames = readdirSync(dir).filter((f) => f.endsWith(".lz4"));

describe("decodeLz4Frame against python3-lz4's frames (fixtures/formats/generate.py)", () => {
  it("has frames for every header option", () => {
    expect(frames.length).toBe(20);
  });
  for (const frame of frames) {
    it(frame, () => {
      const original = readFileSync(`${dir}${frame.split(".")[0]}.bin`);
      const decoded = decodeLz4Frame(new Uint8Array(readFileSync(`${dir}${frame}`)));
      expect(Buffer.from(decoded).equals(original)).toBe(true);
    });
  }
  it("decodes concatenated frames as one stream", () => {
    const a = readFileSync(`${dir}text.default.lz4`);
    const b = readFileSync(`${dir}runs.checksums.lz4`);
    const decoded = decodeLz4Frame(new Uint8Array(Buffer.concat([a, b])));
    expect(
      Buffer.from(decoded).equals(
        Buffer.concat([readFileSync(`${dir}text.bin`), readFileSync(`${dir}runs.bin`)]),
      ),
    ).toBe(true);
  });
  it("refuses corrupt and truncated input instead of returning garbage", () => {
    const good = new Uint8Array(readFileSync(`${dir}text.default.lz4`));
    expect(() => decodeLz4Frame(good.subarray(0, good.length - 10))).toThrow(/corrupt LZ4 data/);
    expect(() => decodeLz4Frame(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(/no frame magic/);
    const badOffset = good.slice();
    // Header: magic 4, FLG, BD, content size 8 (python's default), checksum 1; block size 4; then
    // the first block: a token, one literal, and a match offset pointing before the output's start.
    expect(good[4]! & 0x08).toBe(0x08);
    badOffset.set([0x10, 0x61, 0xff, 0xff], 19);
    expect(() => decodeLz4Frame(badOffset)).toThrow(/corrupt LZ4 data/);
  });
  it("checks a frame against the content size it states, and does not allocate a size it cannot hold", () => {
    const good = new Uint8Array(readFileSync(`${dir}text.default.lz4`));
    const size = readFileSync(`${dir}text.bin`).length;
    const wrong = good.slice();
    new DataView(wrong.buffer).setUint32(6, size + 1, true);
    expect(() => decodeLz4Frame(wrong)).toThrow(`the frame states ${size + 1} bytes but holds ${size}`);
    // 2^40 bytes from a few hundred: not allocated (that would throw a RangeError), just refused.
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(10, 256, true);
    expect(() => decodeLz4Frame(huge)).toThrow(/corrupt LZ4 data: the frame states \d{13} bytes/);
  });
});

describe("Lz4Stream: a frame decoded a block at a time, handed out in pieces", () => {
  const stream = (bytes: Uint8Array) =>
    new Lz4Stream({ length: bytes.length, at: (i, n) => bytes.subarray(i, i + n) });
  for (const frame of frames) {
    it(`${frame}: the same bytes in pieces of any size (back-references across blocks kept)`, () => {
      const original = readFileSync(`${dir}${frame.split(".")[0]}.bin`);
      const bytes = new Uint8Array(readFileSync(`${dir}${frame}`));
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 200_000 }), { maxLength: 8 }), (sizes) => {
          const s = stream(bytes);
          const out = new Uint8Array(original.length);
          let at = 0;
          for (const size of sizes) {
            const n = Math.min(size, out.length - at);
            s.fill(out.subarray(at, at + n));
            at += n;
          }
          s.fill(out.subarray(at));
          s.finish(out.length);
          expect(Buffer.from(out).equals(original)).toBe(true);
        }),
        { numRuns: 10 },
      );
    });
  }
  it("refuses a frame longer or shorter than asked for, and one cut short", () => {
    const original = readFileSync(`${dir}text.bin`);
    const bytes = new Uint8Array(readFileSync(`${dir}text.small_blocks.lz4`));
    const long = stream(bytes);
    long.fill(new Uint8Array(original.length - 1));
    expect(() => long.finish(original.length - 1)).toThrow(/more than the \d+ bytes stated/);
    expect(() => stream(bytes).fill(new Uint8Array(original.length + 1))).toThrow(
      new RegExp(`decodes to ${original.length} of the ${original.length + 1} bytes`),
    );
    const cut = stream(bytes.subarray(0, bytes.length - 9));
    expect(() => {
      cut.fill(new Uint8Array(original.length));
      cut.finish(original.length);
    }).toThrow(/corrupt LZ4 data/);
  });
});

describe("Lz4Stream against hostile blocks", () => {
  it("refuses a block that decodes past 4 MiB instead of holding it", () => {
    // One compressed block: a literal, then a 1-byte-offset match of 5 MiB (255-runs of length).
    const length = 5 << 20;
    const runs = Math.ceil((length - 19) / 255);
    const block = new Uint8Array(1 + 1 + 2 + runs + 1);
    block[0] = 0x1f; // 1 literal, match length 15 + more
    block[1] = 0x41; // the literal 'A'
    block[2] = 1; // offset 1 (little endian)
    block[3] = 0;
    block.fill(255, 4, 4 + runs);
    block[4 + runs] = 0;
    const frame = new Uint8Array(7 + 4 + block.length + 4);
    frame.set([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x73]); // magic, FLG (v1, independent), BD (4 MiB), HC
    new DataView(frame.buffer).setUint32(7, block.length, true);
    frame.set(block, 11);
    const stream = new Lz4Stream({ length: frame.length, at: (i, n) => frame.subarray(i, i + n) });
    expect(() => stream.fill(new Uint8Array(1 << 20))).toThrow(
      /corrupt LZ4 data: a block of more than 4 MiB/,
    );
    // Nor past what the buffer states: a stream per class column holds no more than its column.
    const stated = new Lz4Stream({ length: frame.length, at: (i, n) => frame.subarray(i, i + n) }, 1000);
    expect(() => stated.fill(new Uint8Array(1000))).toThrow(/more than the 1000 bytes stated/);
  });
});

describe("decodeLz4FrameInto fills the caller's memory exactly", () => {
  for (const frame of frames) {
    it(`${frame}: the same bytes as decodeLz4Frame; one byte more or less room is an error`, () => {
      const src = new Uint8Array(readFileSync(`${dir}${frame}`));
      const original = readFileSync(`${dir}${frame.split(".")[0]}.bin`);
      const into = new Uint8Array(original.length + 8).subarray(4, 4 + original.length);
      decodeLz4FrameInto(src, into);
      expect(Buffer.from(into).equals(original)).toBe(true);
      expect(() => decodeLz4FrameInto(src, new Uint8Array(original.length + 1))).toThrow(/corrupt LZ4 data/);
      if (original.length > 0)
        expect(() => decodeLz4FrameInto(src, new Uint8Array(original.length - 1))).toThrow(
          /corrupt LZ4 data/,
        );
    });
  }
});
