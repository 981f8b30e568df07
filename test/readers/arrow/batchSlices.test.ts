import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  Field,
  Float32,
  List,
  makeData,
  makeVector,
  RecordBatch,
  Table,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import { describe, expect, it } from "vitest";
import { openArrow } from "../../../src/readers/arrow/arrow.js";
import { openByteSource } from "../../../src/readers/byteSource.js";
import { tempDir } from "../../helpers/files.js";
import { ROOT, runInProcess } from "../../helpers/run.js";

// 8,500 rows × 1,000 float32 scores: a 34 MB record batch, above the 32 MiB from which an
// uncompressed batch is read in slices.
const N = 8500;
const C = 1000;
const dir = tempDir();
let seed = 3;
const random = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed / 2 ** 32) * 12 - 6;
};
const scores = Float32Array.from({ length: N * C }, random);
const labels = BigInt64Array.from({ length: N }, (_, i) => BigInt(i % 53 === 0 ? -100 : (i * 7) % C));
const ids = Array.from({ length: N }, (_, i) => `row-${i}${"x".repeat(i % 5)}`);
const groups = Array.from({ length: N }, (_, i) => `g${i % 3}`);

/** The same rows as one record batch and as batches of 1,000 rows (which are read whole). */
function write(name: string, columns: Record<string, Vector>) {
  const one = new Table(columns);
  const big = join(dir, `${name}.arrow`);
  writeFileSync(big, tableToIPC(one, "file"));
  const small = join(dir, `${name}_batches.arrow`);
  const schema = one.schema;
  const batches: RecordBatch[] = [];
  for (let from = 0; from < N; from += 1000) {
    const sliced = one.slice(from, Math.min(N, from + 1000));
    batches.push(...sliced.batches.map((b) => new RecordBatch(schema, b.data)));
  }
  writeFileSync(small, tableToIPC(new Table(schema, batches), "file"));
  // The stream format of the same batch: read in order, sliced when every batch can be.
  const stream = join(dir, `${name}.arrows`);
  writeFileSync(stream, tableToIPC(one, "stream"));
  return { big, small, stream };
}

const classColumns = Object.fromEntries(
  Array.from({ length: C }, (_, c) => [
    `c${c}`,
    makeVector(Float32Array.from({ length: N }, (_, i) => scores[i * C + c]!)),
  ]),
);
const columnsFiles = write("columns", {
  ...classColumns,
  label: makeVector(labels),
  id: vectorFromArray(ids, new Utf8()),
  group: vectorFromArray(groups, new Utf8()),
});

const listType = new List(new Field("item", new Float32(), false));
const offsets = Int32Array.from({ length: N + 1 }, (_, i) => i * C);
const listData = makeData({
  type: listType,
  length: N,
  nullCount: 0,
  valueOffsets: offsets,
  child: makeData({ type: new Float32(), length: N * C, nullCount: 0, data: scores }),
});
const listFiles = write("list", { logits: makeVector(listData), label: makeVector(labels) });

describe("a large uncompressed record batch is read in slices of rows", () => {
  it.each([
    ["a list column", listFiles.big, [0, 1]],
    ["a list column in a stream file", listFiles.stream, [0, 1]],
    ["class columns, ids and groups", columnsFiles.big, Array.from({ length: C + 3 }, (_, i) => i)],
  ])("%s: hands out slices of the batch, in order, every row once", async (_, path, columns) => {
    const input = await openArrow(await openByteSource(path), path.endsWith(".arrows") ? "arrows" : "arrow");
    const slices: { start: number | undefined; rows: number }[] = [];
    for await (const b of input.batches(columns)) {
      slices.push({ start: b.start, rows: b.numRows });
      if (columns.length > 2) expect(b.column(C + 1).get(0)).toBe(ids[b.start!]);
    }
    expect(slices.length).toBeGreaterThan(1);
    let next = 0;
    for (const s of slices) {
      expect(s.start).toBe(next);
      expect(s.rows % 8 === 0 || next + s.rows === N).toBe(true);
      next += s.rows;
    }
    expect(next).toBe(N);
  });

  for (const [what, files] of [
    ["class columns with ids and groups", columnsFiles],
    ["a list column", listFiles],
  ] as const) {
    it(`${what}: per-sample output, --rows and groups as from small batches`, async () => {
      const extra = what.startsWith("class") ? ["--id-column", "id", "--group-by", "group"] : [];
      for (const args of [
        ["--per-sample", "--format", "csv", ...extra],
        ["--json", "--per-class", "--worst", "3", ...extra],
        ["--json", "--rows", "1000:7001", ...extra],
      ]) {
        const b = await runInProcess(["eval", files.small, ...args]);
        for (const file of [files.big, files.stream]) {
          const a = await runInProcess(["eval", file, ...args]);
          expect(a.code).toBe(0);
          expect(a.stdout.replaceAll(file, "F").replaceAll('"format": "arrows"', '"format": "arrow"')).toBe(
            b.stdout.replaceAll(files.small, "F"),
          );
        }
      }
    });
  }

  it("list offsets out of order are an error naming the row, not a number", async () => {
    const bytes = readFileSync(listFiles.big);
    // The offsets buffer holds 0, C, 2C, …: find row 5000's offset and make it smaller than row 4999's.
    const needle = Buffer.alloc(8);
    needle.writeInt32LE(5000 * C, 0);
    needle.writeInt32LE(5001 * C, 4);
    const at = bytes.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    const bad = Buffer.from(bytes);
    bad.writeInt32LE(10, at);
    const path = join(dir, "list_bad_offsets.arrow");
    writeFileSync(path, bad);
    await expect(runInProcess(["eval", path, "--json"])).rejects.toMatchObject({
      message: "corrupt Arrow data: list offsets out of order or past their values",
      context: { file: path, row: 5000 },
    });
  });
});

describe("compressed batches read in slices (LZ4 and ZSTD streams) hold the same values", () => {
  const F = `${ROOT}fixtures/formats`;
  /** Every row of the columns as plain values: from slices of 8 rows, or whole batches. */
  async function rows(file: string, slices: boolean) {
    const slicing = slices ? { batchBytes: 0, sliceBytes: 1 } : { batchBytes: Infinity, sliceBytes: 1 };
    const input = await openArrow(await openByteSource(`${F}/${file}`), "arrow", slicing);
    const columns = input.fields.map((_, i) => i);
    const out: unknown[][] = [];
    let batches = 0;
    for await (const b of input.batches(columns)) {
      batches++;
      for (let r = 0; r < b.numRows; r++)
        out.push(
          columns.map((c) => {
            const v = b.column(c).get(r);
            return v !== null && typeof v === "object" && "toArray" in v ? Array.from(v.toArray()) : v;
          }),
        );
    }
    return { out, batches };
  }
  for (const file of [
    "preds_lz4.arrow",
    "preds_zstd.arrow",
    "preds_batches.arrow",
    "preds_batches_zstd.arrow",
    "preds_columns_lz4.arrow",
    // Class names as polars' Utf8View: not read in slices (apache-arrow reads the batch).
    "preds_names.arrow",
  ]) {
    it(file, async () => {
      const whole = await rows(file, false);
      const sliced = await rows(file, true);
      if (file === "preds_names.arrow") expect(sliced.batches).toBe(whole.batches);
      else expect(sliced.batches).toBeGreaterThan(whole.batches);
      expect(sliced.out).toEqual(whole.out);
    });
  }
});

describe("a column asked for twice", () => {
  it("is read once from its stream (an LZ4 batch in slices of 8 rows)", async () => {
    const input = await openArrow(await openByteSource(`${ROOT}fixtures/formats/preds_lz4.arrow`), "arrow", {
      batchBytes: 0,
      sliceBytes: 1,
    });
    let rows = 0;
    for await (const b of input.batches([0, 1, 1])) rows += b.numRows;
    expect(rows).toBe(48);
  });
});
