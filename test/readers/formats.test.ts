import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/files.js";
import { type Json, ROOT, runInProcess, xent } from "../helpers/run.js";

const F = "fixtures/formats";
const ARGS = ["--json", "--per-class", "--worst", "4", "--top-k", "2", "--smoothing", "0.1"];

/** The document without `inputs` (which names the file and format) and class names (CSV headers have them). */
async function numbers(argv: string[], stdin?: Readable): Promise<Json> {
  const { stdout } = await runInProcess(["eval", ...argv, ...ARGS], stdin);
  const doc = JSON.parse(stdout);
  delete doc.inputs;
  for (const c of doc.per_class) c.name = null;
  return doc;
}

const SAME_DATA: string[][] = [
  [`${F}/preds.npy`, `${F}/labels.npy`],
  [`${F}/preds.csv`],
  [`${F}/preds.npz`],
  [`${F}/preds_compressed.npz`],
  [`${F}/preds_zip64.npz`],
  [`${F}/preds_zip64_stored.npz`],
  [`${F}/custom_keys.npz`, "--logits-key", "scores", "--targets-key", "gold"],
  [`${F}/preds.arrow`],
  [`${F}/preds_lz4.arrow`],
  [`${F}/preds_zstd.arrow`],
  [`${F}/preds.arrows`],
  [`${F}/preds_lz4.arrows`],
  [`${F}/preds_zstd.arrows`],
  [`${F}/preds_batches.arrow`],
  [`${F}/preds_batches.arrows`],
  [`${F}/preds_fixed.arrow`],
  [`${F}/preds.arrow`, `${F}/labels.arrow`],
  [`${F}/preds.npy`, `${F}/labels.arrow`],
  [`${F}/preds.csv`, `${F}/labels.npy`],
];

describe("the same predictions in every format give the same JSON", async () => {
  const reference = await numbers(SAME_DATA[0]!);
  it("is a real evaluation", () => {
    expect(reference.counts).toEqual({ rows: 48, used: 44, ignored: 4, skipped: 0 });
  });
  for (const argv of SAME_DATA.slice(1)) {
    it(argv.join(" ").replaceAll(`${F}/`, ""), async () => {
      expect(await numbers(argv)).toEqual(reference);
    });
  }
  it("per-class float columns (zstd) give the same numbers, with the column names as class names", async () => {
    expect(await numbers([`${F}/preds_columns.arrow`])).toEqual(reference);
    const { stdout } = await runInProcess(["eval", `${F}/preds_columns.arrow`, "--json", "--per-class"]);
    expect(JSON.parse(stdout).per_class.map((c: Json) => c.name)).toEqual([
      "cat",
      "dog",
      "emu",
      "fox",
      "gnu",
    ]);
  });
  it("class-name labels as Utf8View, as a dictionary, and in a CSV beside Arrow agree", async () => {
    const utf8View = await numbers([`${F}/preds_names.arrow`]);
    const dictionary = await numbers([`${F}/preds_categorical.arrows`]);
    const csv = await numbers([
      `${F}/preds_named_rows.arrow`,
      `${F}/names_targets.csv`,
      "--class-names",
      "cat,dog,emu,fox,gnu",
    ]);
    expect(utf8View.counts).toEqual({ rows: 44, used: 44, ignored: 0, skipped: 0 });
    expect(dictionary).toEqual(utf8View);
    expect(csv).toEqual(utf8View);
    expect(utf8View.loss).toBeCloseTo(reference.loss, 14);
  });
});

/** Splits bytes into pieces of random sizes (1 byte up to `max`), like numpy's own random-read tests. */
function pieces(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  let k = 0;
  while (i < bytes.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]!);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe("standard input, fed in random small pieces, gives the same results", async () => {
  const reference = await numbers(SAME_DATA[0]!);
  for (const [file, extra] of [
    ["preds.npy", [`${F}/labels.npy`]],
    ["preds.csv", []],
    ["preds.arrows", []],
    ["preds_lz4.arrows", []],
  ] as const) {
    it(`${file} through -`, async () => {
      const bytes = new Uint8Array(readFileSync(`${ROOT}${F}/${file}`));
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
          async (sizes) => {
            const stdin = Readable.from(pieces(bytes, sizes));
            expect(await numbers(["-", ...extra], stdin)).toEqual(reference);
          },
        ),
        { numRuns: 15 },
      );
    });
  }
  it("targets through - beside a predictions file", async () => {
    const bytes = new Uint8Array(readFileSync(`${ROOT}${F}/labels.npy`));
    expect(await numbers([`${F}/preds.npy`, "-"], Readable.from(pieces(bytes, [3, 1, 50])))).toEqual(
      reference,
    );
  });
  it("through a real pipe to the binary", async () => {
    const r = await xent(["eval", "-", `${F}/labels.npy`, ...ARGS], {
      input: readFileSync(`${ROOT}${F}/preds.npy`).toString("latin1"),
      latin1: true,
    });
    expect(r.stderr).toBe("");
    const doc = JSON.parse(r.stdout);
    expect(doc.inputs.predictions.path).toBe("<stdin>");
    delete doc.inputs;
    expect(doc).toEqual(reference);
  });
});

describe("bad inputs of the new formats exit 2 with what and where", () => {
  const cases: [string, string[], RegExp][] = [
    ["a null logit", [`${F}/null_logit.arrow`], /null score of class 1, .*null_logit\.arrow row 5$/],
    ["a null label", [`${F}/null_label.arrow`], /null target, .*null_label\.arrow row 9$/],
    [
      "a list row of the wrong length",
      [`${F}/ragged.arrow`],
      /a list of 4 scores where the first row has 5, .*ragged\.arrow row 11$/,
    ],
    ["a truncated Arrow file", [`${F}/truncated.arrow`], /truncated Arrow file: no footer/],
    ["an empty Arrow file", [`${F}/empty.arrow`], /empty file \(0 bytes\), not ARROW, .*empty\.arrow$/],
    [
      "a missing logits column",
      [`${F}/preds.arrow`, "--logits-column", "scores"],
      /--logits-column scores: no such column .*; its columns are logits, label$/,
    ],
    [
      "a missing target column",
      [`${F}/preds.arrow`, "--target-column", "gold"],
      /--target-column gold: no such column/,
    ],
    [
      "an NPZ without labels",
      [`${F}/no_labels.npz`],
      /no targets: give a targets file, or an array named labels, targets, y in the archive/,
    ],
    [
      "an unknown NPZ key",
      [`${F}/preds.npz`, "--logits-key", "scores"],
      /--logits-key scores: no such array in .*; it holds logits, labels$/,
    ],
    [
      "--class-axis on Arrow",
      [`${F}/preds.arrow`, "--class-axis", "1"],
      /--class-axis applies to NPY, NPZ and safetensors predictions/,
    ],
    [
      "an Arrow stream named .arrow",
      [`${F}/preds.arrows`, "--input-format", "arrow"],
      /truncated Arrow file: no footer/,
    ],
  ];
  for (const [name, argv, message] of cases) {
    it(name, async () => {
      const r = await xent(["eval", ...argv]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trimEnd()).toMatch(/^xent: error: /);
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    });
  }
  it("reads the Arrow file format on standard input as the stream it holds", async () => {
    for (const name of ["preds.arrow", "preds_batches.arrow", "preds_lz4.arrow", "preds_columns.arrow"]) {
      const r = await xent(["eval", "-", "--json"], {
        input: readFileSync(`${ROOT}${F}/${name}`).toString("latin1"),
        latin1: true,
      });
      expect(r.code).toBe(0);
      const fromFile = await xent(["eval", `${ROOT}${F}/${name}`, "--json"]);
      expect(JSON.parse(r.stdout).loss).toBe(JSON.parse(fromFile.stdout).loss);
    }
  });
  it("a truncated Arrow stream on standard input", async () => {
    const bytes = readFileSync(`${ROOT}${F}/preds_lz4.arrows`);
    const r = await xent(["eval", "-"], { input: bytes.subarray(0, 1000).toString("latin1"), latin1: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^xent: error: corrupt Arrow stream: the stream ends inside a message at byte \d+, <stdin>\n$/,
    );
  });
  it("an Arrow file of its magic alone on standard input (fuzz seed 77, case 1275)", async () => {
    const bytes = readFileSync(`${ROOT}${F}/preds.arrow`);
    const r = await xent(["eval", "-"], { input: bytes.subarray(0, 8).toString("latin1"), latin1: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("xent: error: no Arrow schema: the input ends before it, <stdin>\n");
  });
  it("a corrupt deflated NPZ member", async () => {
    const bytes = readFileSync(`${ROOT}${F}/preds_compressed.npz`);
    bytes.fill(0xa5, 200, 400); // inside the first member's deflate stream
    const path = join(tempDir(), "corrupt.npz");
    writeFileSync(path, bytes);
    const r = await xent(["eval", path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^xent: error: (cannot inflate logits\.npy: .*|.*NPY.*), .*corrupt\.npz/);
  });
});

describe("xent inspect", () => {
  it("describes an LZ4 Arrow file: columns, roles, compression", async () => {
    const { stdout } = await runInProcess(["inspect", `${F}/preds_lz4.arrow`, "--json"]);
    const doc = JSON.parse(stdout);
    expect(doc).toMatchObject({
      schema: "xent.inspect/1",
      format: "arrow",
      compression: "lz4",
      dtype: "float64",
      rows: 48,
      classes: 5,
      logits_column: "logits",
      target: { column: "label", kind: "index" },
      columns: [
        { name: "logits", type: "LargeList<Float64>", role: "scores" },
        { name: "label", type: "Int64", role: "target" },
      ],
    });
  });
  it("lists an NPZ archive's arrays and the ones eval would read", async () => {
    const doc = JSON.parse((await runInProcess(["inspect", `${F}/preds_compressed.npz`, "--json"])).stdout);
    expect(doc.logits_key).toBe("logits");
    expect(doc.target.key).toBe("labels");
    expect(doc.arrays).toEqual([
      { key: "logits", dtype: "float64", shape: [48, 5], compressed: true },
      { key: "labels", dtype: "int64", shape: [48], compressed: true },
    ]);
  });
  it("prints a table with class names from a CSV header", async () => {
    const { stdout } = await runInProcess(["inspect", `${F}/preds.csv`]);
    expect(stdout).toMatch(/^format\s+csv$/m);
    expect(stdout).toMatch(/^rows × classes\s+48 × 5$/m);
    expect(stdout).toMatch(/^class names\s+cat, dog, emu, fox, gnu$/m);
    expect(stdout).toMatch(/^label\s+number\s+target$/m);
  });
});
