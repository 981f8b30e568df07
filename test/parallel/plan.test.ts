import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { earlyThreads } from "../../src/parallel/plan.js";
import { tempDir, writeNpy } from "../helpers/files.js";

describe("earlyThreads: threads started before the inputs are opened", () => {
  const dir = tempDir();
  const npy = writeNpy(
    dir,
    "p.npy",
    Array.from({ length: 64 }, (_, i) => i),
    [16, 4],
    "<f4",
  );

  it("starts --threads of them for a large NPY, Arrow or Parquet file by name", () => {
    expect(earlyThreads(npy, 3, false, 1, true)).toBe(3);
    expect(earlyThreads(`${dir}/missing.arrow`, 3, false, 1, true)).toBe(0);
  });

  it("starts none where the run cannot go to file workers", () => {
    expect(earlyThreads(npy, 1, false, 1, true)).toBe(0); // --threads 1
    expect(earlyThreads(npy, 3, true, 1, true)).toBe(0); // --per-sample
    expect(earlyThreads(npy, 3, false, 1 << 30, true)).toBe(0); // a small file
    expect(earlyThreads(npy, 3, false, 1, false)).toBe(0); // no built worker script
    expect(earlyThreads("-", 3, false, 1, true)).toBe(0);
    const csv = `${dir}/p.csv`;
    writeFileSync(csv, "a,b\n1,2\n");
    expect(earlyThreads(csv, 3, false, 1, true)).toBe(0); // CSV goes through the reader
  });
});
