import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/files.js";
import { close, ROOT, runInProcess, xent } from "../helpers/run.js";

const S = `${ROOT}fixtures/safetensors/`;
const expected = JSON.parse(readFileSync(`${S}expected.json`, "utf8")).loss as Record<string, number | null>;
const dir = tempDir();

/** A safetensors file from a header object and data bytes, as the format lays them out. */
function file(name: string, header: unknown, data: Uint8Array, headerText?: string) {
  const text = Buffer.from(headerText ?? JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([length, text, data]));
  return path;
}
const f32 = (xs: number[]) => Buffer.from(Float32Array.from(xs).buffer);

describe("safetensors", () => {
  for (const name of ["digits.safetensors", "digits_f16.safetensors", "digits_bf16.safetensors"]) {
    it(`${name}: torch's loss on the stored values (logits and labels picked by name)`, async () => {
      const doc = JSON.parse((await runInProcess(["eval", `${S}${name}`, "--json"])).stdout);
      expect(doc.inputs.predictions.format).toBe("safetensors");
      expect(close(doc.loss, expected[name]!)).toBe(true);
    });
  }

  it("takes --logits-key and a separate targets file", async () => {
    const doc = JSON.parse(
      (
        await runInProcess([
          "eval",
          `${S}logits_only.safetensors`,
          `${ROOT}fixtures/digits/labels.csv`,
          "--logits-key",
          "predictions",
          "--json",
        ])
      ).stdout,
    );
    expect(close(doc.loss, expected["digits.safetensors"]!)).toBe(true);
  });

  const cases: [string, string, RegExp][] = [
    [
      "a header length past the file",
      // 8 bytes stating 4096, then 2 bytes of header
      (() => {
        const path = join(dir, "claim.safetensors");
        writeFileSync(path, Buffer.concat([Buffer.from([0x00, 0x10, 0, 0, 0, 0, 0, 0]), Buffer.from("{}")]));
        return path;
      })(),
      /invalid safetensors file: a header of 4096 bytes in a file of 10/,
    ],
    [
      "a header that is not JSON",
      file("json.safetensors", null, f32([1, 2, 3, 4]), "{nope}   "),
      /the header is not JSON/,
    ],
    [
      "an unknown dtype",
      file(
        "dtype.safetensors",
        { logits: { dtype: "F8_E4M3", shape: [2, 2], data_offsets: [0, 4] } },
        new Uint8Array(4),
      ),
      /tensor 'logits' has dtype "F8_E4M3" \(xent reads F16, BF16, F32, F64/,
    ],
    [
      "a negative dimension",
      file(
        "shape.safetensors",
        { logits: { dtype: "F32", shape: [2, -2], data_offsets: [0, 16] } },
        f32([1, 2, 3, 4]),
      ),
      /tensor 'logits' has shape \[2,-2\]/,
    ],
    [
      "offsets past the data",
      file(
        "past.safetensors",
        { logits: { dtype: "F32", shape: [2, 2], data_offsets: [0, 32] } },
        f32([1, 2, 3, 4]),
      ),
      /tensor 'logits' has data_offsets \[0,32\] \(the data is 16 bytes\)/,
    ],
    [
      "offsets that do not match dtype and shape",
      file(
        "size.safetensors",
        { logits: { dtype: "F32", shape: [2, 3], data_offsets: [0, 16] } },
        f32([1, 2, 3, 4]),
      ),
      /tensor 'logits' \(float32, shape \[2, 3\]\) needs 24 bytes, its data_offsets span 16/,
    ],
    [
      "overlapping tensors",
      file(
        "overlap.safetensors",
        {
          logits: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] },
          labels: { dtype: "I32", shape: [2], data_offsets: [8, 16] },
        },
        f32([1, 2, 3, 4]),
      ),
      /tensor 'logits' overlaps the one before it|tensor 'labels' overlaps/,
    ],
    [
      "a gap before a tensor",
      file(
        "gap.safetensors",
        { logits: { dtype: "F32", shape: [1, 2], data_offsets: [8, 16] } },
        f32([1, 2, 3, 4]),
      ),
      /a gap of 8 bytes before tensor 'logits'/,
    ],
    [
      "bytes after the last tensor",
      file(
        "tail.safetensors",
        { logits: { dtype: "F32", shape: [1, 2], data_offsets: [0, 8] } },
        f32([1, 2, 3, 4]),
      ),
      /8 bytes after the last tensor/,
    ],
  ];
  for (const [name, path, message] of cases) {
    it(`refuses ${name}, before reading any data`, async () => {
      const r = await xent(["eval", path, `${ROOT}fixtures/digits/labels.csv`]);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  }

  it("cannot be read from standard input (its tensors are read by offset)", async () => {
    const r = await xent(["eval", "-", `${ROOT}fixtures/digits/labels.csv`], {
      input: readFileSync(`${S}digits.safetensors`, "latin1"),
      latin1: true,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /a safetensors file cannot be read from standard input \(its tensors are read by offset\)/,
    );
  });
});
