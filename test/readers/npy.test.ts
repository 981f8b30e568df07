import { describe, expect, it } from "vitest";
import { npyRows, openNpy } from "../../src/readers/npy.js";
import { ROOT } from "../helpers/run.js";

const data = `${ROOT}fixtures/golden/data/`;

async function allRows(
  array: Awaited<ReturnType<typeof openNpy>>,
  axis: number,
  chunkRows: number,
  spanLimit?: number,
): Promise<number[]> {
  const out: number[] = [];
  for await (const block of npyRows(array.file, axis, chunkRows, spanLimit)) out.push(...block.data);
  await array.close();
  return out;
}

describe("npyRows", () => {
  it("reads (B, T, V) in C order as B·T rows of V", async () => {
    const file = await openNpy(`${data}btv.npy`);
    expect(file.header.shape).toEqual([3, 4, 6]);
    const rows = await allRows(file, 2, 5);
    expect(rows).toHaveLength(72);
  });

  for (const [name, axis] of [
    ["btv_fortran.npy", 2],
    ["ncd.npy", 1],
    ["ncd_fortran.npy", 1],
  ] as const) {
    for (const spanLimit of [undefined, 8, 64]) {
      it(`gathers ${name} (class axis ${axis}) into the same rows, span limit ${spanLimit ?? "default"}`, async () => {
        const expected = await allRows(await openNpy(`${data}btv.npy`), 2, 1000);
        for (const chunkRows of [1, 5, 1000]) {
          expect(await allRows(await openNpy(`${data}${name}`), axis, chunkRows, spanLimit)).toEqual(
            expected,
          );
        }
      });
    }
  }

  it("decodes float16 and big-endian data to the stored values", async () => {
    const f64 = await allRows(await openNpy(`${data}logits_float64_big-endian.npy`), 1, 7);
    const le = await allRows(await openNpy(`${data}logits.npy`), 1, 7);
    expect(f64).toEqual(le);
    const f16 = await allRows(await openNpy(`${data}logits_float16.npy`), 1, 7);
    f16.forEach((v, i) => {
      expect(Math.abs(v - le[i]!)).toBeLessThanOrEqual(Math.abs(le[i]!) * 2 ** -10 + 2 ** -24);
    });
  });
});
