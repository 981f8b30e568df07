import { describe, expect, it } from "vitest";
import type { NpyDtype } from "../../../src/readers/npy/header.js";
import { decode, npyRows, openNpy } from "../../../src/readers/npy/npy.js";
import { ROOT } from "../../helpers/run.js";

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

describe("decode", () => {
  it("reads little-endian int64 from its halves exactly as the BigInt path reads big-endian", () => {
    const big = [0n, 1n, -1n, -100n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 32n + 5n, -(2n ** 32n) - 5n];
    const edges = [2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n) + 1n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)];
    const values = [...big, ...edges];
    const le = new DataView(new ArrayBuffer(8 * values.length));
    const be = new DataView(new ArrayBuffer(8 * values.length));
    values.forEach((v, i) => {
      le.setBigInt64(8 * i, v, true);
      be.setBigInt64(8 * i, v, false);
    });
    const dtype: NpyDtype = { kind: "i", size: 8, littleEndian: true, name: "int64" };
    const fast = decode(new Uint8Array(le.buffer), dtype);
    const slow = decode(new Uint8Array(be.buffer), { ...dtype, littleEndian: false });
    expect([...fast]).toEqual([...slow]);
    expect([...fast.subarray(8)]).toEqual([
      2 ** 53 - 1,
      Infinity,
      -(2 ** 53) + 1,
      -Infinity,
      Infinity,
      -Infinity,
    ]);
  });
});
