import { describe, expect, it } from "vitest";
import { parseNumber } from "../../src/readers/parseNumber.js";

describe("parseNumber", () => {
  it("reads what numpy, pandas and printf write", () => {
    expect(parseNumber("1")).toBe(1);
    expect(parseNumber("-2.5e-3")).toBe(-0.0025);
    expect(parseNumber(".5")).toBe(0.5);
    expect(parseNumber("3.")).toBe(3);
    expect(parseNumber("+7E+2")).toBe(700);
    expect(parseNumber(" 4 ")).toBe(4);
    expect(parseNumber("inf")).toBe(Number.POSITIVE_INFINITY);
    expect(parseNumber("-Infinity")).toBe(Number.NEGATIVE_INFINITY);
    expect(parseNumber("NaN")).toBeNaN();
    expect(parseNumber("0.30000000000000004")).toBe(0.30000000000000004);
  });

  it("refuses what Number() would quietly accept or misread", () => {
    for (const s of ["", " ", "0x10", "1e", "1,5", "1_000", "--1", "e5", "nanx", "1 2", "0b1"]) {
      expect(parseNumber(s)).toBeUndefined();
    }
  });
});
