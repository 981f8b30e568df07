import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { streamSource } from "../../src/readers/byteSource.js";

async function bytesOf(source: Awaited<ReturnType<typeof streamSource>>) {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source.stream()) chunks.push(chunk);
  return { bytes: Buffer.concat(chunks), sizes: chunks.map((c) => c.length) };
}

describe("streamSource (standard input, pipes)", () => {
  it("hands on every byte in order whatever the pipe's chunk sizes (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300_000 }), { maxLength: 12 }), async (parts) => {
        const source = await streamSource(Readable.from(parts.map((p) => Buffer.from(p))), "<stdin>");
        const { bytes } = await bytesOf(source);
        expect(bytes.equals(Buffer.concat(parts))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it("gathers a pipe's 64 KiB chunks into 1 MiB ones (a parser's per-chunk work is per MiB)", async () => {
    const parts = Array.from({ length: 40 }, (_, i) => Buffer.alloc(65_536, i));
    const { sizes } = await bytesOf(await streamSource(Readable.from(parts), "<stdin>"));
    expect(sizes.slice(1, -1).every((n) => n >= 1 << 20)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40 * 65_536);
  });
});
