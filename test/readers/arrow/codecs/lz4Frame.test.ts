import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeLz4Frame,
  decodeLz4FrameInto,
  Lz4Stream,
  type StoredFrame,
  storedFrame,
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

describe("storedFrame: where a frame of stored blocks holds its bytes (read in place, not decoded)", () => {
  const readOf = (bytes: Uint8Array) => (into: Uint8Array, at: number) =>
    into.set(bytes.subarray(at, at + into.length));
  /** The bytes storedFrame says the frame decodes to, read where it says they lie. */
  const inPlace = (bytes: Uint8Array, frame: StoredFrame, decoded: number) => {
    const out = new Uint8Array(decoded);
    frame.at.forEach((at, k) => {
      const n = Math.min(frame.blockBytes, decoded - k * frame.blockBytes);
      out.set(bytes.subarray(at, at + n), k * frame.blockBytes);
    });
    return out;
  };

  for (const frame of frames) {
    it(`${frame}: stored blocks where python3-lz4 stored them, else null`, () => {
      const original = new Uint8Array(readFileSync(`${dir}${frame.split(".")[0]}.bin`));
      const bytes = new Uint8Array(readFileSync(`${dir}${frame}`));
      const found = storedFrame(readOf(bytes), 0, bytes.length, original.length);
      // Random bytes do not compress: LZ4 stores them (80,000 bytes: blocks of 64 KiB and the rest).
      if (frame.startsWith("random.")) expect(found?.at.length).toBe(2);
      if (frame.startsWith("runs.") || frame.startsWith("text.") || frame.startsWith("empty."))
        expect(found).toBe(null);
      if (found) expect(inPlace(bytes, found, original.length)).toEqual(original);
    });
  }

  /** A frame of stored blocks of `block` bytes holding `payload`, with the header options asked for. */
  const storedFrameOf = (
    payload: Uint8Array,
    block: number,
    flags: { blockSums: boolean; size: boolean; sum: boolean },
  ) => {
    const parts: number[] = [0x04, 0x22, 0x4d, 0x18];
    parts.push(0x40 | (flags.blockSums ? 0x10 : 0) | (flags.size ? 0x08 : 0) | (flags.sum ? 0x04 : 0), 0x40);
    if (flags.size) for (let k = 0; k < 8; k++) parts.push(k < 4 ? (payload.length >>> (8 * k)) & 255 : 0);
    parts.push(0x99); // header checksum (not verified)
    for (let at = 0; at < payload.length; at += block) {
      const n = Math.min(block, payload.length - at);
      const word = (n | 0x80000000) >>> 0;
      for (let k = 0; k < 4; k++) parts.push((word >>> (8 * k)) & 255);
      parts.push(...payload.subarray(at, at + n));
      if (flags.blockSums) parts.push(1, 2, 3, 4);
    }
    parts.push(0, 0, 0, 0);
    if (flags.sum) parts.push(5, 6, 7, 8);
    return Uint8Array.from(parts);
  };

  it("never places bytes the decoder would not decode: any frame of stored blocks, any one byte changed", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom(4096, 8192),
        fc.record({ blockSums: fc.boolean(), size: fc.boolean(), sum: fc.boolean() }),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined }),
        (n, block, flags, change) => {
          const payload = Uint8Array.from({ length: n }, (_, i) => (i * 7919) & 255);
          const bytes = storedFrameOf(payload, block, flags);
          if (change) bytes[change[0] % bytes.length] = change[1];
          const found = storedFrame(readOf(bytes), 0, bytes.length, n);
          if (!change) expect(found).not.toBe(null);
          if (found === null) return;
          // What it places must be what the frame decodes to, exactly.
          expect(inPlace(bytes, found, n)).toEqual(decodeLz4Frame(bytes));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("is null for blocks of unequal sizes, a last block larger than the others, bytes after the frame or another length", () => {
    const payload = Uint8Array.from({ length: 12_000 }, (_, i) => i & 255);
    const plain = { blockSums: false, size: false, sum: false };
    const frame = storedFrameOf(payload, 4096, plain);
    const read = readOf(frame);
    expect(storedFrame(read, 0, frame.length, 12_000)?.at.length).toBe(3);
    expect(storedFrame(read, 0, frame.length, 12_001)).toBe(null);
    const padded = Uint8Array.from([...frame, 0, 0, 0, 0]);
    expect(storedFrame(readOf(padded), 0, padded.length, 12_000)).toBe(null);
    // Blocks of 8,192, 2,000 and 1,808 bytes: the second is not the first's size.
    const uneven = Uint8Array.from([
      ...storedFrameOf(payload.subarray(0, 8192), 8192, plain).subarray(0, 7 + 4 + 8192),
      ...storedFrameOf(payload.subarray(8192), 2000, plain).subarray(7),
    ]);
    expect(decodeLz4Frame(uneven)).toEqual(payload);
    expect(storedFrame(readOf(uneven), 0, uneven.length, 12_000)).toBe(null);
    // Blocks of 4,096 then 7,904: the last is larger than the first.
    const larger = Uint8Array.from([
      ...storedFrameOf(payload.subarray(0, 4096), 4096, plain).subarray(0, 7 + 4 + 4096),
      ...storedFrameOf(payload.subarray(4096), 8192, plain).subarray(7),
    ]);
    expect(decodeLz4Frame(larger)).toEqual(payload);
    expect(storedFrame(readOf(larger), 0, larger.length, 12_000)).toBe(null);
  });
});
