import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { XentError } from "../../../src/errors.js";
import { ColumnCursor, type PageSource } from "../../../src/readers/parquet/column.js";
import type { ParquetField } from "../../../src/readers/parquet/metadata.js";
import type { Page } from "../../../src/readers/parquet/pages.js";

/** `optional group (LIST) { repeated group { optional float } }`: levels 0 null list, 1 empty, 2 null item, 3 value. */
const listField: ParquetField = {
  name: "logits",
  type: "list<float>",
  kind: "float64",
  list: true,
  column: 0,
  physical: "DOUBLE",
  typeLength: 0,
  maxDef: 3,
  maxRep: 1,
  listDefined: 1,
  elementDefined: 2,
  inner: null,
};

type Row = (number | null)[] | null;

/** Rows as Parquet level entries, cut into pages after the given entry counts (rows may span pages). */
function pagesOf(rows: Row[], cuts: number[]): PageSource {
  const reps: number[] = [];
  const defs: number[] = [];
  const values: number[] = [];
  for (const row of rows) {
    if (row === null || row.length === 0) {
      reps.push(0);
      defs.push(row === null ? 0 : 1);
      continue;
    }
    row.forEach((v, i) => {
      reps.push(i === 0 ? 0 : 1);
      defs.push(v === null ? 2 : 3);
      if (v !== null) values.push(v);
    });
  }
  return cutPages(reps, defs, values, cuts, 3);
}

/** Level entries cut into pages after the given entry counts; `maxDef` marks a value. */
function cutPages(
  reps: number[],
  defs: number[],
  values: number[],
  cuts: number[],
  maxDef: number,
): PageSource {
  const pages: Page[] = [];
  let at = 0;
  let vat = 0;
  for (const cut of [...cuts, reps.length]) {
    const end = Math.min(reps.length, at + cut);
    if (end <= at) continue;
    const d = Uint8Array.from(defs.slice(at, end));
    const defined = d.filter((x) => x === maxDef).length;
    pages.push({
      count: end - at,
      reps: Uint8Array.from(reps.slice(at, end)),
      defs: d,
      defined,
      values: Float64Array.from(values.slice(vat, vat + defined)),
    });
    vat += defined;
    at = end;
  }
  return {
    next: async () => pages.shift() ?? null,
    fail: (what) => {
      throw new XentError("format", what);
    },
  };
}

/** Rows read back from runs of the given sizes. */
async function readBack(source: PageSource, runs: number[]): Promise<Row[]> {
  const cursor = new ColumnCursor(listField, source);
  const out: Row[] = [];
  for (const n of runs) {
    const data = (await cursor.take(n)).data[0]!;
    const offsets = data.valueOffsets as Int32Array;
    const child = data.children[0]!;
    for (let r = 0; r < n; r++) {
      if (!data.getValid(r)) {
        out.push(null);
        continue;
      }
      const row: (number | null)[] = [];
      for (let k = offsets[r]!; k < offsets[r + 1]!; k++)
        row.push(child.getValid(k) ? (child.values as Float64Array)[k]! : null);
      out.push(row);
    }
  }
  await cursor.end();
  return out;
}

describe("ColumnCursor on a list column", () => {
  it("reads rows that span pages, null lists, empty lists and null items", async () => {
    const rows: Row[] = [[1, 2, 3], null, [], [4, null, 6], [7, 8, 9]];
    expect(await readBack(pagesOf(rows, [2, 3, 1]), [2, 3])).toEqual(rows);
  });

  it("gives the same rows whatever the page cuts and run sizes (property)", async () => {
    const row = fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      {
        weight: 6,
        arbitrary: fc.array(fc.oneof(fc.integer({ min: -99, max: 99 }), fc.constant(null)), { maxLength: 6 }),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 30 }),
        async (rows, cuts, sizes) => {
          const runs: number[] = [];
          let left = rows.length;
          for (const s of sizes) {
            if (left === 0) break;
            runs.push(Math.min(s, left));
            left -= runs.at(-1)!;
          }
          if (left > 0) runs.push(left);
          expect(await readBack(pagesOf(rows, cuts), runs)).toEqual(rows);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a column with fewer rows than its row group, or more", async () => {
    const rows: Row[] = [[1], [2], [3]];
    await expect(readBack(pagesOf(rows, []), [4])).rejects.toThrow(
      /the column ends after 3 of the row group's rows/,
    );
    await expect(readBack(pagesOf(rows, []), [2])).rejects.toThrow(/holds more rows than its row group/);
  });

  it("refuses pages whose first entry continues a row", async () => {
    const source = pagesOf([[1, 2]], []);
    const first = await source.next();
    first!.reps![0] = 1;
    const pages = [first!];
    await expect(
      readBack({ next: async () => pages.shift() ?? null, fail: source.fail }, [1]),
    ).rejects.toThrow(/starts inside the previous one/);
  });
});

/**
 * `optional group (LIST) { repeated group { optional group (LIST) { repeated group { optional float } } } }`:
 * levels 0 null row, 1 empty row, 2 null inner list, 3 empty inner list, 4 null item, 5 value.
 */
const nestedField: ParquetField = {
  ...listField,
  type: "list<list<float>>",
  maxDef: 5,
  maxRep: 2,
  inner: { listDefined: 3, elementDefined: 4 },
};

type NestedRow = ((number | null)[] | null)[] | null;

function nestedPages(rows: NestedRow[], cuts: number[]): PageSource {
  const reps: number[] = [];
  const defs: number[] = [];
  const values: number[] = [];
  for (const row of rows) {
    if (row === null || row.length === 0) {
      reps.push(0);
      defs.push(row === null ? 0 : 1);
      continue;
    }
    row.forEach((list, k) => {
      const rep = k === 0 ? 0 : 1;
      if (list === null || list.length === 0) {
        reps.push(rep);
        defs.push(list === null ? 2 : 3);
        return;
      }
      list.forEach((v, i) => {
        reps.push(i === 0 ? rep : 2);
        defs.push(v === null ? 4 : 5);
        if (v !== null) values.push(v);
      });
    });
  }
  return cutPages(reps, defs, values, cuts, 5);
}

async function readNested(source: PageSource, runs: number[]): Promise<NestedRow[]> {
  const cursor = new ColumnCursor(nestedField, source);
  const out: NestedRow[] = [];
  for (const n of runs) {
    const data = (await cursor.take(n)).data[0]!;
    const rowOffsets = data.valueOffsets as Int32Array;
    const lists = data.children[0]!;
    const listOffsets = lists.valueOffsets as Int32Array;
    const items = lists.children[0]!;
    for (let r = 0; r < n; r++) {
      if (!data.getValid(r)) {
        out.push(null);
        continue;
      }
      const row: ((number | null)[] | null)[] = [];
      for (let l = rowOffsets[r]!; l < rowOffsets[r + 1]!; l++) {
        if (!lists.getValid(l)) {
          row.push(null);
          continue;
        }
        const list: (number | null)[] = [];
        for (let k = listOffsets[l]!; k < listOffsets[l + 1]!; k++)
          list.push(items.getValid(k) ? (items.values as Float64Array)[k]! : null);
        row.push(list);
      }
      out.push(row);
    }
  }
  await cursor.end();
  return out;
}

describe("ColumnCursor on a list of lists (a language model's positions)", () => {
  it("reads rows of lists that span pages, with nulls and empties at every level", async () => {
    const rows: NestedRow[] = [
      [
        [1, 2],
        [3, 4],
      ],
      null,
      [],
      [[5, 6], null, [], [null, 7]],
      [[8, 9]],
    ];
    expect(await readNested(nestedPages(rows, [3, 4, 1]), [2, 3])).toEqual(rows);
  });

  it("gives the same rows whatever the page cuts and run sizes (property)", async () => {
    const item = fc.oneof(fc.integer({ min: -99, max: 99 }), fc.constant(null));
    const list = fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 6, arbitrary: fc.array(item, { maxLength: 4 }) },
    );
    const row = fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 6, arbitrary: fc.array(list, { maxLength: 4 }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 6 }),
        async (rows, cuts, size) => {
          const runs: number[] = [];
          for (let left = rows.length; left > 0; left -= runs.at(-1)!) runs.push(Math.min(size, left));
          expect(await readNested(nestedPages(rows, cuts), runs)).toEqual(rows);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a level that continues a list that is not there (a corrupted page)", async () => {
    const source: PageSource = {
      next: async () => null,
      fail: (what) => {
        throw new XentError("format", what);
      },
    };
    const pages: Page[] = [
      // An empty row, then a level 2 continuing an inner list it does not have.
      {
        count: 2,
        reps: Uint8Array.from([0, 2]),
        defs: Uint8Array.from([1, 5]),
        defined: 1,
        values: Float64Array.from([1]),
      },
    ];
    source.next = async () => pages.shift() ?? null;
    await expect(new ColumnCursor(nestedField, source).take(1)).rejects.toThrow(/continues a list/);
  });
});
