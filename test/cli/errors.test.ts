import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { npyBytes, tempDir, writeNpy, writeText } from "../helpers/files.js";
import { ROOT, xent } from "../helpers/run.js";

const dir = tempDir();
const logits = writeNpy(dir, "logits.npy", [0, 1, 2, 2, 1, 0, 1, 1, 1], [3, 3]);
const labels = writeText(dir, "labels.csv", "label\n0\n1\n2\n");
const csv = (name: string, text: string) => writeText(dir, name, text);
const npy = (name: string, values: number[], shape: number[], descr?: string) =>
  writeNpy(dir, name, values, shape, descr);
const raw = (name: string, bytes: Buffer) => {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
};
const full = npyBytes([0, 1, 2, 2, 1, 0], [2, 3]);

/** Each bad input of the contract: the arguments, and what the one line on stderr must say. */
const cases: [string, string[], RegExp][] = [
  [
    "a target out of range",
    [logits, csv("big.csv", "label\n0\n3\n1\n")],
    /target 3 is not a class index in \[0, 3\), .*big\.csv line 3 \(row 1\)$/,
  ],
  [
    "a negative target that is not the ignore index",
    [logits, npy("neg.npy", [0, -1, 1], [3], "<i8")],
    /target -1 is not a class index in \[0, 3\), .*neg\.npy row 1$/,
  ],
  [
    "an unknown class name",
    [csv("named.csv", "a,b,c\n0,1,2\n2,1,0\n"), csv("names.csv", "label\nb\nz\n")],
    /unknown class name 'z' \(classes: a, b, c\), .*names\.csv line 3 \(row 1\)$/,
  ],
  [
    "class names with no class names to match",
    [logits, csv("n.csv", "label\ncat\ndog\nemu\n")],
    /targets are class names, but the predictions have none/,
  ],
  [
    "a NaN score",
    [npy("nan.npy", [0, 1, 2, 2, Number.NaN, 0, 1, 1, 1], [3, 3]), labels],
    /NaN score \(use --on-nan skip to leave such rows out\), .*nan\.npy row 1$/,
  ],
  [
    "a NaN score in CSV, with its line",
    [csv("nan.csv", "a,b,label\n0,1,0\n1,nan,1\n")],
    /NaN score .*nan\.csv line 3 \(row 1\)$/,
  ],
  [
    "a negative probability target",
    [logits, csv("soft.csv", "0.5,0.5,0\n0.2,-0.1,0.9\n1,0,0\n")],
    /target probability -0\.1 of class 1 is not a finite number ≥ 0, .*soft\.csv line 2 \(row 1\)$/,
  ],
  [
    "a probability input above 1",
    [npy("p.npy", [0.5, 0.5, 1.5, 0.2, 0.3, 0.5, 1, 0, 0], [3, 3]), labels, "--input-type", "probs"],
    /probability 1\.5 of class 2 is outside \[0, 1\], .*p\.npy row 0$/,
  ],
  [
    "a log-probability input above 0",
    [logits, labels, "--input-type", "log-probs"],
    /log-probability 1 of class 1 is above 0 \(are these logits\? drop --input-type log-probs\), .*logits\.npy row 0$/,
  ],
  [
    "more targets than predictions",
    [logits, csv("four.csv", "label\n0\n1\n2\n0\n")],
    /row counts differ: .*logits\.npy has 3 rows, .*four\.csv has 4$/,
  ],
  [
    "fewer targets than predictions",
    [logits, npy("two.npy", [0, 1], [2], "<i8")],
    /row counts differ: .*logits\.npy has 3 rows, .*two\.npy has 2$/,
  ],
  [
    "fewer CSV targets than CSV predictions",
    [csv("p3.csv", "1,2\n3,4\n5,6\n"), csv("t2.csv", "0\n1\n")],
    /row counts differ: .*t2\.csv has 2 rows \(1 if its first row '0' is a header\), .*p3\.csv has 3$/,
  ],
  [
    "a ragged CSV row",
    [csv("ragged.csv", "a,b,c\n0,1,2\n0,1\n"), labels.replace("labels", "labels")],
    /ragged row: expected 3 fields, got 2, .*ragged\.csv line 3$/,
  ],
  [
    "a non-numeric CSV score",
    [csv("word.csv", "a,b,label\n0,1,0\n1,abc,1\n")],
    /expected a number, got 'abc' \(the column is read as scores: leave it out with --drop-columns b, or pick the scores with --score-columns\), .*word\.csv line 3 column 2 \(b\)$/,
  ],
  [
    "an empty CSV field",
    [csv("empty.csv", "a,b,label\n0,1,0\n1,,1\n")],
    /empty field \(the column is read as scores: .*\), .*empty\.csv line 3 column 2 \(b\)$/,
  ],
  ["an unterminated quote", [csv("quote.csv", 'a,b,label\n0,"1,0\n')], /quote/i],
  [
    "a truncated NPY file",
    [raw("trunc.npy", full.subarray(0, full.length - 5)), labels],
    /truncated NPY file: a float64 array of shape \(2, 3\) needs 176 bytes, the file has 171, .*trunc\.npy$/,
  ],
  [
    "an NPY file with bytes after the data",
    [raw("long.npy", Buffer.concat([full, Buffer.from([1, 2, 3])])), labels],
    /NPY file has 3 bytes after the data/,
  ],
  [
    "an NPY header that is not a dict",
    [
      raw(
        "hdr.npy",
        Buffer.concat([
          full.subarray(0, 10),
          Buffer.from(`${"{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }".padEnd(117)}\n`),
          full.subarray(128),
        ]),
      ),
      labels,
    ],
    /malformed NPY header/,
  ],
  [
    "a structured dtype",
    [
      raw(
        "rec.npy",
        Buffer.concat([
          full.subarray(0, 10),
          Buffer.from(
            `${"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }".padEnd(117)}\n`,
          ),
          full.subarray(128, 144),
        ]),
      ),
      labels,
    ],
    /malformed NPY header|structured/,
  ],
  [
    "an NPY header length past any real header",
    [
      raw("huge.npy", Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0xff, 0xff, 0xff, 0x7f])),
      labels,
    ],
    /NPY header of 2147483659 bytes is larger than 65536/,
  ],
  [
    "a CSV record longer than 8 MiB",
    [csv("wide.csv", `${"1234567,".repeat(1_200_000)}1\n`), labels],
    /a record longer than 8388608 bytes \(is this really a CSV file\?\), .*wide\.csv line 1$/,
  ],
  [
    "integer predictions",
    [npy("int.npy", [0, 1, 2, 3, 4, 5, 6, 7, 8], [3, 3], "<i4"), labels],
    /predictions must be floats \(float16\/32\/64, bfloat16\), the file holds int32/,
  ],
  [
    "a .npy that is really text",
    [csv("text.npy", "0,1\n"), labels],
    /named \.npy but the content is not NPY; pass --input-format/,
  ],
  [
    "the wrong number of class weights",
    [logits, labels, "--class-weights", "1,2"],
    /--class-weights: 2 weights for 3 classes$/,
  ],
  [
    "a negative class weight",
    [logits, labels, "--class-weights", "1,-2,1"],
    /--class-weights: weight 1 is not a finite number ≥ 0/,
  ],
  [
    "every row ignored",
    [logits, npy("ign.npy", [-100, -100, -100], [3], "<i8")],
    /nothing to average: all 3 rows are ignored \(--ignore-index -100\)$/,
  ],
  [
    "zero total weight",
    [logits, labels, "--class-weights", "0,0,0"],
    /nothing to average: the class weights of all used rows sum to 0$/,
  ],
  [
    "an empty input",
    [csv("none.csv", ""), csv("nolabels.csv", "")],
    /nothing to average: the input has no rows/,
  ],
  [
    "'others' smoothing with one class",
    [
      npy("one.npy", [1, 2], [2, 1]),
      npy("z.npy", [0, 0], [2], "<i8"),
      "--smoothing",
      "0.1",
      "--smoothing-style",
      "others",
      "--task",
      "multiclass",
    ],
    /--smoothing-style others needs at least 2 classes/,
  ],
  [
    "a smoothing above 1",
    [logits, labels, "--smoothing", "1.5"],
    /--smoothing 1\.5: expected a number from 0 to 1$/,
  ],
  [
    "an unknown option (commander's own error)",
    [logits, labels, "--smoothin", "0.1"],
    /unknown option '--smoothin'/,
  ],
  ["a missing predictions argument", [], /missing required argument 'predictions'/],
  ["a bad --reduction value", [logits, labels, "--reduction", "avg"], /argument 'avg' is invalid/],
  ["a missing file", [join(dir, "nope.npy"), labels], /cannot open: no such file, .*nope\.npy$/],
  [
    "a malformed --assert",
    [logits, labels, "--assert", "loss=1"],
    /--assert 'loss=1': expected METRIC OP NUMBER/,
  ],
  [
    "an --assert on an unknown metric",
    [logits, labels, "--assert", "f1>0.5"],
    /unknown metric 'f1' for --task multiclass \(it is one of --task binary\); known: loss, nll, perplexity, accuracy, entropy, brier, ece$/,
  ],
  ["no targets at all", [logits], /no targets: give a targets file/],
  [
    "a Python pickle (torch.save's legacy format)",
    [
      raw("legacy.pt", Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8])),
      labels,
    ],
    /a Python pickle \(torch\.save's legacy format, pickle\.dump\): pickled Python objects are not read \(unpickling is unsafe: it runs code\); save the tensors with numpy\.save \(NPY\/NPZ\) or safetensors, .*legacy\.pt$/,
  ],
  [
    "a torch.save file (a zip of pickles)",
    [`${ROOT}fixtures/unsupported/model.pt`, labels],
    /a PyTorch file \(torch\.save\): pickled Python objects are not read .*model\.pt$/,
  ],
  [
    "a pickle.dump file",
    [`${ROOT}fixtures/unsupported/preds.pkl`, labels],
    /a Python pickle \(torch\.save's legacy format, pickle\.dump\): pickled Python objects are not read/,
  ],
  [
    "a null score in a Parquet list column",
    [`${ROOT}fixtures/parquet/null_score.parquet`],
    /null score of class 3, .*null_score\.parquet row 7$/,
  ],
  [
    "a null label in a Parquet file",
    [`${ROOT}fixtures/parquet/null_label.parquet`],
    /null target, .*null_label\.parquet row 11$/,
  ],
  [
    "a Parquet list row shorter than the first",
    [`${ROOT}fixtures/parquet/short_row.parquet`],
    /a list of 9 scores where the first row has 10, .*short_row\.parquet row 5$/,
  ],
  [
    "a truncated Parquet file",
    [raw("cut.parquet", readFileSync(`${ROOT}fixtures/parquet/digits_list.parquet`).subarray(0, 5000))],
    /truncated Parquet file: no footer \(the file must end with its metadata's length and PAR1\), .*cut\.parquet$/,
  ],
  [
    "an HDF5 file",
    [raw("preds.h5", Buffer.from("\x89HDF\r\n\x1a\n\0\0\0\0", "latin1")), labels],
    /an HDF5 file, which xent does not read: save the arrays with numpy\.save/,
  ],
  [
    "binary content that is no known format (never quoted raw)",
    [
      raw(
        "noise.csv",
        Buffer.from([0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0xc3, 0x28, 0x01]),
      ),
      labels,
    ],
    /^xent: error: binary content of no known format \(NPY, NPZ, Arrow, gzip\/zstd, CSV or TSV expected\), .*noise\.csv$/,
  ],
  [
    "a binary target outside [0, 1]",
    [npy("b.npy", [0.5, -1, 2], [3]), csv("b.csv", "label\n0\n1\n2\n")],
    /target 2 is outside \[0, 1\]: binary targets are 0, 1 or a probability in between \(class indices of more classes: --task multiclass\), .*b\.csv line 4 \(row 2\)$/,
  ],
  [
    "a binary probability outside [0, 1]",
    [npy("bp.npy", [0.5, 1.5], [2]), npy("by.npy", [0, 1], [2], "<i8"), "--input-type", "probs"],
    /probability 1\.5 is outside \[0, 1\], .*bp\.npy row 1$/,
  ],
  [
    "a multilabel target outside [0, 1]",
    [logits, npy("ml.npy", [0, 1, 0, 1, 1, -100, 0, 0, 1], [3, 3], "<i8"), "--task", "multilabel"],
    /target -100 of label 2 is outside \[0, 1\]: multilabel targets are 0, 1 or a probability in between, .*ml\.npy row 1$/,
  ],
  [
    "multilabel with one class index per row",
    [logits, labels, "--task", "multilabel"],
    /multilabel targets are 3 values per row \(0\/1 or probabilities\), one per label; the file holds one value per row \(class indices: --task multiclass\), .*labels\.csv$/,
  ],
  [
    "--task binary with several scores per row",
    [logits, labels, "--task", "binary"],
    /--task binary takes one score per row \(a logit or P\(class 1\)\); the predictions have 3 per row/,
  ],
  [
    "--class-weights for binary",
    [npy("b1.npy", [0.5, -1], [2]), npy("b1y.npy", [0, 1], [2], "<i8"), "--class-weights", "1,2"],
    /--class-weights has no meaning for --task binary \(one score per row\); --pos-weight weighs the positive class$/,
  ],
  [
    "--pos-weight for multiclass",
    [logits, labels, "--pos-weight", "2"],
    /--pos-weight applies to --task binary and multilabel$/,
  ],
  [
    "--pos-weight of the wrong length",
    [
      logits,
      npy("ml2.npy", [0, 1, 0, 1, 1, 0, 0, 0, 1], [3, 3], "<i8"),
      "--task",
      "multilabel",
      "--pos-weight",
      "1,2",
    ],
    /--pos-weight: 2 weights for 3 classes$/,
  ],
  [
    "a negative --pos-weight",
    [npy("b2.npy", [0.5, -1], [2]), npy("b2y.npy", [0, 1], [2], "<i8"), "--pos-weight", "-1"],
    /--pos-weight: weight 0 is not a finite number ≥ 0 \(-1\)$/,
  ],
  [
    "--threshold above 1",
    [logits, labels, "--threshold", "1.5"],
    /--threshold 1\.5: expected a number from 0 to 1$/,
  ],
  [
    "--top-k for binary",
    [npy("b3.npy", [0.5, -1], [2]), npy("b3y.npy", [0, 1], [2], "<i8"), "--top-k", "1"],
    /--top-k has no meaning for --task binary/,
  ],
  [
    "an --assert on a metric of another task",
    [npy("b4.npy", [0.5, -1], [2]), npy("b4y.npy", [0, 1], [2], "<i8"), "--assert", "perplexity<2"],
    /unknown metric 'perplexity' for --task binary \(it is one of --task multiclass\); known: loss, nll, accuracy, precision, recall, f1, brier, ece, tp, fp, tn, fn$/,
  ],
  [
    "an unknown binary class name",
    [csv("bn.csv", "logit,label\n0.5,yes\n-1,no\n")],
    /unknown class name 'yes' \(classes: true, True, TRUE, false, False, FALSE\), .*bn\.csv line 2 \(row 0\)$/,
  ],
  [
    "an unknown target column",
    [csv("tc.csv", "a,b\n1,2\n"), "--target-column", "lbl"],
    /--target-column lbl: no such column .*its columns are a, b$/,
  ],
];

describe("every bad input exits 2 with one line naming what and where, never a stack trace", () => {
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const argv = args.length === 0 ? ["eval"] : ["eval", ...args];
      const r = await xent(argv);
      expect(r.stderr).toMatch(/^xent: error: /);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe("");
      expect(r.code).toBe(2);
    });
  }
});

describe("--on-nan skip", () => {
  it("leaves NaN rows out of every number and counts them", async () => {
    const r = await xent([
      "eval",
      npy("nan2.npy", [0, 1, 2, 2, Number.NaN, 0, 1, 1, 1], [3, 3]),
      labels,
      "--on-nan",
      "skip",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.counts).toEqual({ rows: 3, used: 2, ignored: 0, skipped: 1 });
    const expected = (Math.log(1 + Math.E + Math.E ** 2) + Math.log(3)) / 2;
    expect(doc.loss).toBeCloseTo(expected, 10);
  });
});
