import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, writeNpy } from "../helpers/files.js";
import { BIN, ROOT, runInProcess } from "../helpers/run.js";

/** Large enough (5M values) for the worker threads to be used. */
const dir = tempDir();
const N = 20_000;
const C = 256;
let seed = 7;
const random = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed / 2 ** 32) * 16 - 8;
};
const logits = writeNpy(dir, "l.npy", Float32Array.from({ length: N * C }, random), [N, C], "<f4");
const targets = writeNpy(
  dir,
  "t.npy",
  Float64Array.from({ length: N }, (_, i) => (i % 97 === 0 ? -100 : (i * 31) % C)),
  [N],
  "<i8",
);

function run(extra: string[]): string {
  const r = spawnSync(
    "node",
    [BIN, "eval", logits, targets, "--json", "--per-class", "--worst", "5", "--top-k", "5", ...extra],
    {
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  expect(r.stderr).toBe("");
  return r.stdout;
}

describe("threads and chunk sizes never change a number (the worker-thread NPY path)", () => {
  for (const options of [
    [],
    [
      "--smoothing",
      "0.15",
      "--smoothing-style",
      "others",
      "--class-weights",
      Array.from({ length: C }, (_, c) => 1 + (c % 5) / 4).join(","),
    ],
  ]) {
    it(`--threads 1, 2, 3 and --chunk-rows 1000, 7777 give byte-identical JSON ${options.length ? "(smoothing, weights)" : ""}`, () => {
      const reference = run(["--threads", "1", ...options]);
      expect(JSON.parse(reference).counts.rows).toBe(N);
      for (const extra of [
        ["--threads", "2"],
        ["--threads", "3"],
        ["--threads", "2", "--chunk-rows", "1000"],
        ["--threads", "3", "--chunk-rows", "7777"],
      ]) {
        expect(run([...extra, ...options])).toBe(reference);
      }
    });
  }

  it("reports the earliest bad row when several workers find one", () => {
    const bad = writeNpy(
      dir,
      "bad.npy",
      Float64Array.from({ length: N }, (_, i) => (i === 15_000 || i === 3_000 ? C + 1 : i % C)),
      [N],
      "<i8",
    );
    const r = spawnSync("node", [BIN, "eval", logits, bad, "--threads", "2", "--chunk-rows", "1000"], {
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^xent: error: target 257 is not a class index in \[0, 256\), .*bad\.npy row 3000\n$/,
    );
  });
});

describe("the worker pool for blocks read on the main thread (Arrow)", () => {
  it("gives the same JSON and the same per-sample ndjson for --threads 1 and 2", async () => {
    const { tableToIPC, Table, makeVector, FixedSizeList, Field, Float32, makeData } = await import(
      "apache-arrow"
    );
    const values = Float32Array.from({ length: N * C }, random);
    const child = makeData({ type: new Float32(), length: N * C, data: values });
    const type = new FixedSizeList(C, new Field("item", new Float32(), false));
    const logitsColumn = makeVector(makeData({ type, length: N, nullCount: 0, child }));
    const label = makeVector(Int32Array.from({ length: N }, (_, i) => (i % 89 === 0 ? -100 : (i * 13) % C)));
    const file = join(dir, "preds.arrow");
    writeFileSync(file, tableToIPC(new Table({ logits: logitsColumn, label }), "file"));
    const run = (threads: string, format: string) =>
      spawnSync(
        "node",
        [
          BIN,
          "eval",
          file,
          "--format",
          format,
          "--threads",
          threads,
          "--per-class",
          "--worst",
          "3",
          "--smoothing",
          "0.1",
        ],
        {
          encoding: "utf8",
          timeout: 120_000,
          maxBuffer: 1 << 28,
        },
      );
    const one = run("1", "json");
    expect(one.stderr).toBe("");
    expect(JSON.parse(one.stdout).counts.rows).toBe(N);
    expect(run("2", "json").stdout).toBe(one.stdout);
    const ndjson = run("1", "ndjson");
    expect(ndjson.stdout.split("\n").length).toBeGreaterThan(N);
    expect(run("2", "ndjson").stdout).toBe(ndjson.stdout);
  });
});

describe("worker threads reading an uncompressed Arrow file's batches themselves", () => {
  it("agree with one thread for List scores, and leave files with nulls to the reader that names the row", async () => {
    const { tableToIPC, Table, makeVector, List, Field, Float32, Int64, makeData } = await import(
      "apache-arrow"
    );
    const values = Float32Array.from({ length: N * C }, random);
    const child = makeData({ type: new Float32(), length: N * C, data: values });
    const type = new List(new Field("item", new Float32(), false));
    const valueOffsets = Int32Array.from({ length: N + 1 }, (_, i) => i * C);
    const scores = makeVector(makeData({ type, length: N, nullCount: 0, valueOffsets, child }));
    const labels = BigInt64Array.from({ length: N }, (_, i) => BigInt((i * 7) % C));
    const label = makeVector(makeData({ type: new Int64(), length: N, nullCount: 0, data: labels }));
    const file = join(dir, "list.arrow");
    writeFileSync(file, tableToIPC(new Table({ logits: scores, label }), "file"));
    const run = (threads: string, path: string) =>
      spawnSync("node", [BIN, "eval", path, "--json", "--threads", threads, "--worst", "4", "--top-k", "3"], {
        encoding: "utf8",
        timeout: 120_000,
      });
    const one = run("1", file);
    expect(one.stderr).toBe("");
    expect(run("2", file).stdout).toBe(one.stdout);

    const validity = new Uint8Array(Math.ceil(N / 8)).fill(255);
    validity[1000 >> 3]! &= ~(1 << (1000 & 7));
    const nulled = makeVector(
      makeData({ type: new Int64(), length: N, nullCount: 1, data: labels, nullBitmap: validity }),
    );
    const withNull = join(dir, "null.arrow");
    writeFileSync(withNull, tableToIPC(new Table({ logits: scores, label: nulled }), "file"));
    const r = run("2", withNull);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^xent: error: null target, .*null\.arrow row 1000\n$/);
  });
});

describe("worker threads reading one float32 column per class (polars' layout for a DataFrame)", () => {
  it("agree with one thread and with the same rows as an NPY, for any --chunk-rows; a null score goes to the reader", async () => {
    const { tableToIPC, Table, RecordBatch, Float32, Int64, makeData, Schema, Field, Struct } = await import(
      "apache-arrow"
    );
    const K = 24;
    const rows = 3000;
    const values = Float32Array.from({ length: rows * K }, random);
    const labels = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i % 97 === 0 ? -100 : (i * 5) % K));
    const fields = [
      ...Array.from({ length: K }, (_, c) => new Field(`c${c}`, new Float32(), true)),
      new Field("label", new Int64(), true),
    ];
    const schema = new Schema(fields);
    /** Rows [from, to) as a record batch; `hole`: a null score there. */
    const batch = (from: number, to: number, hole = -1) => {
      const n = to - from;
      const columns = Array.from({ length: K }, (_, c) => {
        const data = Float32Array.from({ length: n }, (_, i) => values[(from + i) * K + c]!);
        if (hole < from || hole >= to || c !== 3) return makeData({ type: new Float32(), length: n, data });
        const bitmap = new Uint8Array(Math.ceil(n / 8)).fill(255);
        bitmap[(hole - from) >> 3]! &= ~(1 << ((hole - from) & 7));
        return makeData({ type: new Float32(), length: n, nullCount: 1, data, nullBitmap: bitmap });
      });
      const label = makeData({ type: new Int64(), length: n, data: labels.slice(from, to) });
      const struct = makeData({
        type: new Struct(fields),
        length: n,
        children: [...columns, label],
      });
      return new RecordBatch(schema, struct);
    };
    const table = (hole = -1) =>
      new Table([batch(0, 1000, hole), batch(1000, 1700, hole), batch(1700, rows, hole)]);
    const file = join(dir, "columns.arrow");
    writeFileSync(file, tableToIPC(table(), "file"));
    const npy = writeNpy(dir, "columns.npy", values, [rows, K], "<f4");
    const npyLabels = writeNpy(dir, "columns_labels.npy", Array.from(labels, Number), [rows], "<i8");
    const args = ["--json", "--per-class", "--worst", "4", "--top-k", "3", "--smoothing", "0.1"];
    const run = (threads: string, path: string[], extra: string[] = []) =>
      spawnSync("node", [BIN, "eval", ...path, ...args, "--threads", threads, ...extra], {
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" },
      });
    const one = run("1", [file]);
    expect(one.stderr).toMatch(/one thread/);
    for (const chunk of ["7", "500", "65536"]) {
      const two = run("2", [file], ["--chunk-rows", chunk]);
      expect(two.stderr).toMatch(/2 threads reading the file/);
      expect(two.stdout).toBe(one.stdout);
    }
    // The same rows as a float32 NPY: the same numbers (the float32 kernel both ways).
    const numbersOf = (out: string) => {
      const doc = JSON.parse(out);
      // Class names come from the column names only.
      const perClass = (doc.per_class as Record<string, unknown>[]).map(({ name: _, ...rest }) => rest);
      return { loss: doc.loss, metrics: doc.metrics, per_class: perClass, counts: doc.counts };
    };
    expect(numbersOf(run("2", [npy, npyLabels]).stdout)).toEqual(numbersOf(one.stdout));
    // A range: each class column read from the range's first row.
    for (const rows of ["1:2999", "999:1701", "2500:"]) {
      const whole = run("1", [file], ["--rows", rows]);
      const part = run("2", [file], ["--rows", rows, "--chunk-rows", "100"]);
      expect(part.stderr).toMatch(/2 threads reading the file/);
      expect(part.stdout).toBe(whole.stdout);
    }

    const withNull = join(dir, "columns_null.arrow");
    writeFileSync(withNull, tableToIPC(table(1234), "file"));
    const r = run("2", [withNull]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/xent: error: null score in column 'c3', .*columns_null\.arrow row 1234\n$/);
  });
});

describe("an Arrow file beside an NPY of labels: worker threads read both files", () => {
  const F = `${ROOT}fixtures/formats`;
  const labels = `${F}/labels.npy`;
  for (const [file, how] of [
    ["preds.arrow", /2 threads reading the file/],
    ["preds_lz4.arrow", /1 thread reading the file/],
    ["preds_batches_zstd.arrow", /2 threads reading the file/],
    ["preds_columns_lz4.arrow", /2 threads reading the file/],
  ] as const) {
    it(`${file} + labels.npy: the same JSON as one thread; a labels file of other rows, the same error`, () => {
      const run = (threads: string, files: string[]) =>
        spawnSync(
          "node",
          [
            BIN,
            "eval",
            ...files,
            "--json",
            "--per-class",
            "--worst",
            "3",
            "--threads",
            threads,
            "--chunk-rows",
            "5",
          ],
          {
            encoding: "utf8",
            timeout: 120_000,
            env: { ...process.env, XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" },
          },
        );
      const one = run("1", [`${F}/${file}`, labels]);
      const two = run("2", [`${F}/${file}`, labels]);
      expect(two.stderr).toMatch(how);
      expect(two.stdout).toBe(one.stdout);
      const short = writeNpy(
        dir,
        "labels47.npy",
        Array.from({ length: 47 }, (_, i) => i % 5),
        [47],
        "<i8",
      );
      const a = run("1", [`${F}/${file}`, short]);
      const b = run("2", [`${F}/${file}`, short]);
      expect(a.status).toBe(2);
      expect(a.stderr).toMatch(/row counts differ/);
      expect(b.stderr.split("\n").filter((l) => l.startsWith("xent: error"))).toEqual(
        a.stderr.split("\n").filter((l) => l.startsWith("xent: error")),
      );
    });
  }
});

describe("polars' Arrow files on worker threads (XENT_PARALLEL_MIN_BYTES=1 lets small files use them)", () => {
  const F = `${ROOT}fixtures/formats`;
  for (const [file, how] of [
    ["preds.arrow", /reading the file/],
    ["preds_fixed.arrow", /reading the file/],
    // Compressed batches: decoded by the workers as a stream, a batch each (one batch: one worker).
    ["preds_lz4.arrow", /1 thread reading the file \(1 segment\)/],
    ["preds_batches.arrow", /threads reading the file \(\d+ segments\)/],
    ["preds_batches_zstd.arrow", /threads reading the file \(\d+ segments\)/],
    // A stream read from a path: its record batches are where the walk of its messages found them.
    ["preds_batches.arrows", /threads? reading the file/],
    // zstd class columns of a small batch: each column decoded whole, on one worker.
    ["preds_columns.arrow", /1 thread reading the file \(1 segment\)$/m],
    // float32 class columns, LZ4: a stream per column on the workers.
    ["preds_columns_lz4.arrow", /threads reading the file \(4 segments\)/],
  ] as const) {
    it(`${file}: the same JSON as one thread`, () => {
      const args = [
        BIN,
        "eval",
        `${F}/${file}`,
        "--json",
        "--per-class",
        "--worst",
        "3",
        "--top-k",
        "2",
        "--smoothing",
        "0.1",
      ];
      const one = spawnSync("node", [...args, "--threads", "1"], { encoding: "utf8", timeout: 120_000 });
      const two = spawnSync("node", [...args, "--threads", "2"], {
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" },
      });
      expect(two.stderr).toMatch(how);
      expect(two.stdout).toBe(one.stdout);
      if (
        [
          "preds_batches_zstd.arrow",
          "preds_lz4.arrow",
          "preds_columns_lz4.arrow",
          "preds_columns.arrow",
          "preds_batches.arrows",
        ].includes(file)
      ) {
        // Compressed batches are evaluated as they decode, --chunk-rows rows at a time: 3 cuts every batch.
        const sliced = spawnSync("node", [...args, "--threads", "2", "--chunk-rows", "3"], {
          encoding: "utf8",
          timeout: 120_000,
          env: { ...process.env, XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" },
        });
        expect(sliced.stderr).toMatch(how);
        expect(sliced.stdout).toBe(one.stdout);
      }
    });
  }
});

describe("float16 NPY: worker threads widen in WebAssembly, one thread through the reader", () => {
  it("gives byte-identical JSON for --threads 1 and 2", async () => {
    const n = 3000;
    const c = 37;
    let s = 11;
    // Finite halves of both signs, subnormals included (exponent field 0 to 29).
    const halves = Array.from({ length: n * c }, () => {
      s = (s * 1103515245 + 12345) >>> 0;
      return ((s >>> 16) & 0x8000) | ((s % 30) << 10) | (s & 0x3ff);
    });
    const f16 = writeNpy(dir, "h.npy", halves, [n, c], "<f2");
    const y = writeNpy(
      dir,
      "hy.npy",
      Float64Array.from({ length: n }, (_, i) => (i * 7) % c),
      [n],
      "<i8",
    );
    const run = (threads: number) =>
      runInProcess(
        ["eval", f16, y, "--json", "--per-class", "--threads", String(threads), "--chunk-rows", "500"],
        undefined,
        {
          parallelMinBytes: 0,
        },
      ).then((r) => r.stdout);
    const one = await run(1);
    expect(JSON.parse(one).inputs.predictions.dtype).toBe("float16");
    expect(await run(2)).toBe(one);
  });
});
