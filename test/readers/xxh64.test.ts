import { describe, expect, it } from "vitest";
import { Xxh64 } from "../../src/readers/xxh64.js";

const hash = (text: string, pieces = 1) => {
  const h = new Xxh64();
  const bytes = Buffer.from(text, "latin1");
  const size = Math.ceil(bytes.length / pieces) || 1;
  for (let at = 0; at < bytes.length; at += size) h.update(bytes.subarray(at, at + size));
  return h.digest();
};

describe("XXH64 (seed 0), the checksum of zstd frames", () => {
  it("gives the published values", () => {
    expect(hash("")).toBe(0xef46db3751d8e999n);
    expect(hash("a")).toBe(0xd24ec4f1a98c6e5bn);
    expect(hash("abc")).toBe(0x44bc2cf5ad770999n);
  });

  it("does not depend on how the bytes are cut", () => {
    const text = Array.from({ length: 100_000 }, (_, i) => String.fromCharCode((i * 7919) % 256)).join("");
    const whole = hash(text);
    for (const pieces of [2, 3, 7, 33, 1000]) expect(hash(text, pieces)).toBe(whole);
  });
});
