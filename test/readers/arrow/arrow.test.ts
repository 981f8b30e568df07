import { describe, expect, it } from "vitest";
import { openArrow } from "../../../src/readers/arrow/arrow.js";
import { openByteSource } from "../../../src/readers/byteSource.js";
import { ROOT } from "../../helpers/run.js";

const fixture = (name: string) => `${ROOT}/fixtures/formats/${name}`;

async function opened(name: string) {
  const input = await openArrow(await openByteSource(fixture(name)), "arrow");
  const firstAtOpen = input.first;
  const batches = [];
  for await (const b of input.batches([])) batches.push(b.numRows);
  return { input, firstAtOpen, batches };
}

describe("openArrow", () => {
  it("learns an uncompressed file's list length from the first batch's metadata, without reading the batch", async () => {
    const { input, firstAtOpen, batches } = await opened("preds.arrow");
    expect(firstAtOpen).toBeNull();
    expect(input.compression).toBeNull();
    expect(input.listLengths?.get(0)).toBe(5);
    expect(batches).toEqual([48]);
  });

  it("learns a compressed file's codec and list length from metadata and the offsets buffer alone", async () => {
    const input = await openArrow(await openByteSource(fixture("preds_lz4.arrow")), "arrow");
    expect(input.first).toBeNull();
    expect(input.listLengths?.get(0)).toBe(5);
    expect(input.compression).toBe("lz4");
    // Reading to the end closes the file.
    for await (const _ of input.batches([])) {
      // drained
    }
  });

  it("still hands out every row of a FixedSizeList file", async () => {
    const { batches } = await opened("preds_fixed.arrow");
    expect(batches.reduce((a, b) => a + b, 0)).toBe(48);
  });
});
