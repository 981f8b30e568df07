import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { XentError } from "../../src/errors.js";
import { tempDir } from "../helpers/files.js";
import { type Json, ROOT, runInProcess, xent } from "../helpers/run.js";

/**
 * Parquet files from two real writers (fixtures/parquet: polars' generate.cjs, arrow-rs'
 * generate-arrow-rs.mjs) hold the digits logits: each must give the NPY's numbers.
 */
const P = `${ROOT}fixtures/parquet/`;
const digits = [`${ROOT}fixtures/digits/logits.npy`, `${ROOT}fixtures/digits/labels.csv`];
const dir = tempDir();

async function run(args: string[]): Promise<Json> {
  return JSON.parse((await runInProcess(["eval", ...args, "--json"])).stdout);
}

/** The error a run ends with (thrown in process: main.ts prints XentErrors as one line, exit 2). */
async function failure(args: string[]): Promise<XentError> {
  try {
    await runInProcess(["eval", ...args, "--json"]);
  } catch (e) {
    expect(e).toBeInstanceOf(XentError);
    return e as XentError;
  }
  throw new Error(`no error from ${args.join(" ")}`);
}
const numbers = (doc: Json) => ({ counts: doc.counts, loss: doc.loss, metrics: doc.metrics });

describe("Parquet predictions", async () => {
  const npy = numbers(await run(digits));

  // A list column reads the float32 scores as the NPY does: the same bits in, the same numbers out.
  for (const [file, codec] of [
    ["digits_list.parquet", "zstd"],
    ["digits_rowgroups_v1.parquet", "lz4"],
  ] as const) {
    it(`${file} (list column, ${codec}) gives the NPY's numbers exactly`, async () => {
      const doc = await run([P + file]);
      expect(numbers(doc)).toEqual(npy);
      expect(doc.inputs.predictions).toMatchObject({
        format: "parquet",
        compression: codec,
        shape: [360, 10],
      });
      expect(doc.inputs.predictions.member).toBe("logits");
    });
  }

  // One column per class is gathered into float64 rows (as for Arrow and CSV): equal to 1e-9.
  for (const file of [
    "digits_columns_uncompressed.parquet",
    "digits_columns_snappy.parquet",
    "digits_columns_gzip.parquet",
    "digits_columns_zstd.parquet",
    "digits_columns_lz4.parquet",
    "digits_columns_brotli.parquet",
    "digits_names.parquet",
    "digits_rowgroups_v2.parquet",
    "digits_split_delta.parquet",
  ]) {
    it(`${file} (per-class columns) gives the NPY's numbers`, async () => {
      const doc = numbers(await run([P + file]));
      expect(doc.counts).toEqual(npy.counts);
      expect(doc.metrics.accuracy).toBe(npy.metrics.accuracy);
      expect(Math.abs(doc.loss / npy.loss - 1)).toBeLessThan(1e-8);
    });
  }

  it("per-class columns give the same numbers whatever the codec, row groups or encoding", async () => {
    const docs = await Promise.all(
      ["digits_columns_zstd.parquet", "digits_rowgroups_v2.parquet", "digits_split_delta.parquet"].map(
        async (f) => numbers(await run([P + f])),
      ),
    );
    // float32 class columns are scored as the float32 NPY of the same logits is, bit for bit;
    // digits_rowgroups_v2 holds them widened to float64 (the float64 kernel: within 1e-8).
    const npy = numbers(await run(digits));
    expect(docs[0]).toEqual(npy);
    expect(docs[2]).toEqual(npy);
    expect(Math.abs((docs[1]!.loss as number) / (npy.loss as number) - 1)).toBeLessThan(1e-8);
  });

  it("string labels are class names: the columns' names (digits_names, digits_rowgroups_v2)", async () => {
    const doc = await run([`${P}digits_rowgroups_v2.parquet`]);
    expect(doc.inputs.targets).toMatchObject({ kind: "name", column: "label" });
  });

  it("float16 logits read as the halves stored", async () => {
    // torch 1.13 (float64) on the halves as hyparquet, an independent reader, decodes them.
    // (apache-arrow JS rounded them when the generator wrote them, not always as numpy would.)
    const doc = await run([`${P}digits_float16.parquet`]);
    expect(doc.inputs.predictions.dtype).toBe("float16");
    expect(Math.abs(doc.loss / 0.21823516435783322 - 1)).toBeLessThan(1e-7);
  });

  it("reads a labels-only Parquet file as targets", async () => {
    expect(numbers(await run([digits[0]!, `${P}labels.parquet`]))).toEqual(npy);
  });

  it("gives the same numbers for any --chunk-rows", async () => {
    for (const rows of ["1", "7", "100"]) {
      expect(numbers(await run([`${P}digits_rowgroups_v1.parquet`, "--chunk-rows", rows]))).toEqual(npy);
    }
  });

  it("worker threads decoding row groups give the same numbers bit for bit, and the same errors", async () => {
    // Spawned (vitest runs src/, where there is no worker script), threads from 1 byte on.
    const parallel = (args: string[]) =>
      xent(["eval", ...args, "--json"], { env: { XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" } });
    for (const threads of ["2", "3", "8"]) {
      const r = await parallel([`${P}digits_rowgroups_v1.parquet`, "--threads", threads]);
      expect(r.stderr).toMatch(/threads reading the file \(8 row groups\)/);
      expect(numbers(JSON.parse(r.stdout))).toEqual(npy);
      const f16 = await parallel([`${P}digits_float16.parquet`, "--threads", threads]);
      expect(numbers(JSON.parse(f16.stdout))).toEqual(numbers(await run([`${P}digits_float16.parquet`])));
    }
    const bad = await parallel([`${P}null_score.parquet`, "--threads", "2"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/xent: error: null score of class 3, .*null_score\.parquet row 7\n$/);
  });

  it("refuses Parquet from standard input with the way out", async () => {
    const r = await xent(["eval", "-"], {
      input: readFileSync(`${P}digits_list.parquet`).toString("latin1"),
      latin1: true,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /a Parquet file cannot be read from standard input \(its index is at the end\); pass a regular file/,
    );
  });

  it("skips columns of types xent does not read (struct, binary), and names them when asked for", async () => {
    const file = `${P}digits_extra_columns.parquet`;
    expect(numbers(await run([file]))).toEqual(npy);
    expect((await failure([file, "--id-column", "meta"])).message).toBe(
      "column 'meta' has Parquet type group, which xent does not read",
    );
    expect((await failure([file, "--target-column", "raw"])).message).toMatch(
      /^target column 'raw' has type byte_array; expected integers/,
    );
  });

  it("inspect names row groups, the writer, codecs and Parquet's column types", async () => {
    const r = await runInProcess(["inspect", `${P}digits_extra_columns.parquet`, "--json"]);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ format: "parquet", row_groups: 4, rows: 360, classes: 10 });
    expect(doc.written_by).toMatch(/^parquet-rs/);
    expect(doc.columns).toEqual([
      { name: "meta", type: "group", role: "unused" },
      { name: "raw", type: "byte_array", role: "unused" },
      { name: "logits", type: "list<float>", role: "scores" },
      { name: "label", type: "int64", role: "target" },
    ]);
  });
});

describe("corrupted Parquet files are errors, never numbers or crashes", () => {
  const good = readFileSync(`${P}digits_rowgroups_v1.parquet`);
  const footerLength = good.readUInt32LE(good.length - 8);
  const footerAt = good.length - 8 - footerLength;
  const variant = (name: string, edit: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    edit(b);
    writeFileSync(join(dir, name), b);
    return join(dir, name);
  };

  it("a footer length past the file", async () => {
    const f = variant("long.parquet", (b) => b.writeUInt32LE(good.length, good.length - 8));
    expect((await failure([f])).message).toMatch(/truncated Parquet file: no footer/);
  });

  it("a footer of millions of empty structs: refused before it is decoded (was 4.3 GiB, 52 s)", async () => {
    // FileMetaData { 4: row_groups = list of 4,100,000 empty structs }.
    const n = 4_100_000;
    const varint: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 128)) varint.push((v & 0x7f) | (v >= 128 ? 0x80 : 0));
    const footer = Buffer.concat([Buffer.from([0x49, 0xfc, ...varint]), Buffer.alloc(n + 1)]);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(footer.length);
    const f = join(dir, "bomb.parquet");
    writeFileSync(f, Buffer.concat([Buffer.from("PAR1"), footer, length, Buffer.from("PAR1")]));
    const started = Date.now();
    expect((await failure([f])).message).toBe("corrupt Parquet metadata: more than 4000000 values");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("every single-byte change of the footer: an error or the right numbers", async () => {
    const npy = numbers(await run(digits));
    let errors = 0;
    for (let at = footerAt; at < good.length - 8; at += 3) {
      const f = variant(`flip${at}.parquet`, (b) => {
        b[at] = b[at]! ^ 0x5a;
      });
      try {
        const doc = numbers(JSON.parse((await runInProcess(["eval", f, "--json"])).stdout));
        // Statistics, names of unread things, created_by: nothing that changes the rows read.
        expect(doc.loss).toBe(npy.loss);
      } catch (e) {
        expect(e).toBeInstanceOf(XentError);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(0);
  });
});
