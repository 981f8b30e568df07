import { describe, expect, it } from "vitest";
import { openPredictions, openTargets } from "../../src/readers/open.js";
import { ROOT } from "../helpers/run.js";

const F = `${ROOT}fixtures/formats/`;

describe("sources are disposed of whichever way a run ends", () => {
  for (const file of ["preds.npy", "preds.arrow", "preds.csv", "preds.npz"]) {
    it(`${file}: disposing before, after or twice reading its chunks is harmless`, async () => {
      const unread = await openPredictions(F + file, undefined, {}, false);
      await unread.source[Symbol.asyncDispose]();
      await unread.source[Symbol.asyncDispose]();
      const read = await openPredictions(F + file, undefined, {}, false);
      let rows = 0;
      for await (const chunk of read.source.chunks(7)) rows += chunk.rows;
      expect(rows).toBe(48);
      await read.source[Symbol.asyncDispose]();
    });
  }

  it("targets too", async () => {
    const p = await openPredictions(`${F}preds.npy`, undefined, {}, true);
    const t = await openTargets(`${F}labels.npy`, undefined, {}, p);
    await t[Symbol.asyncDispose]();
    await t[Symbol.asyncDispose]();
    await p.source[Symbol.asyncDispose]();
  });
});
