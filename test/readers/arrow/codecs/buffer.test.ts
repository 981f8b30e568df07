import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { XentError } from "../../../../src/errors.js";
import {
  type ArrowCodec,
  decodeBufferInto,
  type ReadAt,
  readBufferAt,
  type Scratch,
} from "../../../../src/readers/arrow/codecs/buffer.js";

/** A buffer read from the file a window at a time (as a stream) and decoded into `into` at once. */
const decodeArrowBufferAt = (
  read: ReadAt,
  position: number,
  bytes: number,
  codec: ArrowCodec,
  into: Uint8Array,
  scratch: Scratch,
): void => readBufferAt(read, position, bytes, codec, into.length, scratch, (reader) => reader.fill(into));

import { ROOT } from "../../../helpers/run.js";

const dir = `${ROOT}fixtures/formats/lz4/`;
const frames = readdirSync(dir).filter((f) => f.endsWith(".lz4"));

/** An Arrow compressed buffer: the 8-byte stated length, then the frame; placed at byte 100 of a "file". */
function file(frame: Uint8Array, stated: bigint): Uint8Array {
  const bytes = new Uint8Array(100 + 8 + frame.length);
  new DataView(bytes.buffer).setBigInt64(100, stated, true);
  bytes.set(frame, 108);
  return bytes;
}

/** Positional reads of an in-memory file, counting the largest read. */
function reader(bytes: Uint8Array) {
  const seen = { largest: 0 };
  const read = (into: Uint8Array, at: number) => {
    if (at + into.length > bytes.length) throw new XentError("io", "read past the end");
    seen.largest = Math.max(seen.largest, into.length);
    into.set(bytes.subarray(at, at + into.length));
  };
  return { read, seen };
}

describe("decodeArrowBufferAt: an LZ4 buffer read from the file a window at a time", () => {
  for (const name of frames) {
    it(`${name}: the same bytes as decoding it whole`, () => {
      const frame = new Uint8Array(readFileSync(`${dir}${name}`));
      const original = readFileSync(`${dir}${name.split(".")[0]}.bin`);
      const into = new Uint8Array(original.length);
      const { read } = reader(file(frame, BigInt(original.length)));
      decodeArrowBufferAt(read, 100, 8 + frame.length, "lz4", into, { buffer: new Uint8Array(0) });
      expect(Buffer.from(into).equals(original)).toBe(true);
    });
  }

  it("holds a window, not the buffer: reads of at most 1 MiB for a 3 MiB frame", () => {
    // A frame of 48 stored 64 KiB blocks (incompressible data is written so).
    const data = new Uint8Array(3 << 20).map((_, i) => (i * 7919) % 251);
    const parts: Uint8Array[] = [Uint8Array.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x00])];
    for (let at = 0; at < data.length; at += 65_536) {
      const word = new Uint8Array(4);
      new DataView(word.buffer).setUint32(0, (0x80000000 | 65_536) >>> 0, true);
      parts.push(word, data.subarray(at, at + 65_536));
    }
    parts.push(new Uint8Array(4));
    const frame = new Uint8Array(Buffer.concat(parts));
    const { read, seen } = reader(file(frame, BigInt(data.length)));
    const into = new Uint8Array(data.length);
    decodeArrowBufferAt(read, 100, 8 + frame.length, "lz4", into, { buffer: new Uint8Array(0) });
    expect(Buffer.from(into).equals(Buffer.from(data))).toBe(true);
    expect(seen.largest).toBeLessThanOrEqual(1 << 20);
  });

  it("reads a stored buffer (length -1) straight into the kernel's memory", () => {
    const data = new Uint8Array(1000).map((_, i) => i % 251);
    const bytes = new Uint8Array(100 + 8 + data.length);
    new DataView(bytes.buffer).setBigInt64(100, -1n, true);
    bytes.set(data, 108);
    const into = new Uint8Array(data.length);
    decodeArrowBufferAt(reader(bytes).read, 100, 8 + data.length, "lz4", into, { buffer: new Uint8Array(0) });
    expect(Buffer.from(into).equals(Buffer.from(data))).toBe(true);
  });

  it("refuses a stated length other than the rows need, and a frame that decodes short", () => {
    const frame = new Uint8Array(readFileSync(`${dir}text.default.lz4`));
    const original = readFileSync(`${dir}text.bin`);
    const scratch = { buffer: new Uint8Array(0) };
    const wrong = reader(file(frame, BigInt(original.length + 1)));
    expect(() =>
      decodeArrowBufferAt(wrong.read, 100, 8 + frame.length, "lz4", new Uint8Array(original.length), scratch),
    ).toThrow(/states \d+ bytes where \d+ are needed/);
    const cut = frame.subarray(0, frame.length - 20);
    const short = reader(file(cut, BigInt(original.length)));
    expect(() =>
      decodeArrowBufferAt(short.read, 100, 8 + cut.length, "lz4", new Uint8Array(original.length), scratch),
    ).toThrow(/corrupt/);
  });
});

describe("decodeBufferInto: an LZ4 column read in one read and decoded in place", () => {
  for (const name of frames) {
    it(`${name}: the same bytes; a stated length other than the room is an error`, () => {
      const frame = new Uint8Array(readFileSync(`${dir}${name}`));
      const original = readFileSync(`${dir}${name.split(".")[0]}.bin`);
      const scratch = { buffer: new Uint8Array(0) };
      const into = new Uint8Array(original.length);
      decodeBufferInto(
        reader(file(frame, BigInt(original.length))).read,
        100,
        8 + frame.length,
        "lz4",
        into,
        scratch,
      );
      expect(Buffer.from(into).equals(original)).toBe(true);
      const lying = reader(file(frame, BigInt(original.length + 1))).read;
      expect(() => decodeBufferInto(lying, 100, 8 + frame.length, "lz4", into, scratch)).toThrow(
        /corrupt Arrow data: a compressed buffer states/,
      );
    });
  }

  it("copies a buffer stored as is (stated length −1), and refuses one too short", () => {
    const data = Uint8Array.from({ length: 40 }, (_, i) => i * 3);
    const { read } = reader(file(data, -1n));
    const into = new Uint8Array(40);
    decodeBufferInto(read, 100, 48, "lz4", into, { buffer: new Uint8Array(0) });
    expect(Array.from(into)).toEqual(Array.from(data));
    expect(() =>
      decodeBufferInto(read, 100, 48, "lz4", new Uint8Array(41), { buffer: new Uint8Array(0) }),
    ).toThrow(/corrupt Arrow data/);
  });
});
