import { describe, expect, it } from "vitest";
import { float16ToNumber } from "../../../src/readers/float16.js";
import { parseNpyHeader } from "../../../src/readers/npy/header.js";
import { npyBytes } from "../../helpers/files.js";

describe("parseNpyHeader", () => {
  it("reads numpy's v1.0 header", () => {
    const h = parseNpyHeader(npyBytes([1, 2, 3, 4, 5, 6], [2, 3], ">f4", true));
    expect(h).toMatchObject({ version: "1.0", fortranOrder: true, shape: [2, 3], dataOffset: 128 });
    expect(h.dtype).toEqual({ kind: "f", size: 4, littleEndian: false, name: "float32" });
  });

  it("reads 1-D and 0-length shapes", () => {
    expect(parseNpyHeader(npyBytes([1, 2], [2])).shape).toEqual([2]);
    expect(parseNpyHeader(npyBytes([], [0, 5])).shape).toEqual([0, 5]);
  });

  it("rejects a file without the magic, and an unknown version", () => {
    expect(() => parseNpyHeader(Buffer.from("label\n1\n2\n3\n"))).toThrow(/not an NPY file/);
    const v9 = npyBytes([1], [1]);
    v9[6] = 9;
    expect(() => parseNpyHeader(v9)).toThrow(/unsupported NPY format version 9\.0/);
  });

  it("rejects dtypes xent cannot read", () => {
    for (const descr of ["<c16", "<b2", "<U4", "<f16", "|O"]) {
      const bytes = npyBytes([], [0], "<f8");
      const text = bytes.toString("latin1").replace("'<f8'", `'${descr}'`.padEnd(5));
      expect(() => parseNpyHeader(Buffer.from(text, "latin1"))).toThrow(/unsupported NPY dtype|malformed/);
    }
  });
});

describe("float16ToNumber", () => {
  it("decodes normals, subnormals, zeros, infinities and NaN exactly", () => {
    expect(float16ToNumber(0x3c00)).toBe(1);
    expect(float16ToNumber(0xc000)).toBe(-2);
    expect(float16ToNumber(0x7bff)).toBe(65504);
    expect(float16ToNumber(0x0001)).toBe(2 ** -24);
    expect(float16ToNumber(0x8000)).toBe(-0);
    expect(float16ToNumber(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(float16ToNumber(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(float16ToNumber(0x7e00)).toBeNaN();
    expect(float16ToNumber(0x3555)).toBe(0.333251953125);
  });
});
