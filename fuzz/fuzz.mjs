#!/usr/bin/env node
// A seeded, structure-aware mutation fuzzer for xent's readers and for `xent merge`.
//
//   npm run fuzz -- [--cases N] [--seed S] [--only npy,npz,csv,arrow,arrows,safetensors,parquet,gzip,zstd,merge] [--case K] [--keep DIR]
//
// Every case is a seed input (real files: fixtures/ and small ones made here) with mutations that
// know the format (NPY header, zip directory, Arrow metadata words, CSV text, JSON state fields),
// run through the built binary with a timeout. Outcomes:
//   ok        exit 0 and the same loss as an independent reading of the mutated input
//   refused   exit 2 with one line `xent: error: …`
//   lenient   exit 0 where the independent reader refuses (reported, not a failure: it may be stricter)
//   WRONG     exit 0 with a loss the independent reading does not give          ← failure
//   internal  exit 2 with `internal error`                                       ← failure
//   crash     any other exit code, a stack trace, or more than one stderr line   ← failure
//   hang      no exit within the timeout                                         ← failure
// Case K of seed S is the same input on every machine: `--seed S --case K --keep DIR` writes it out.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateRawSync, gunzipSync, gzipSync } from "node:zlib";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BIN = join(ROOT, "bin/xent.js");
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(" ")
    .split(/\s*--/)
    .filter(Boolean)
    .map((s) => s.split(/\s+/)),
);
const CASES = Number(args.cases ?? 400);
const SEED = Number(args.seed ?? 1);
const ONLY = (args.only ?? "npy,npz,csv,arrow,arrows,safetensors,parquet,gzip,zstd,merge").split(",");
const TIMEOUT_MS = Number(args.timeout ?? 10_000);
const PARALLEL = Number(args.jobs ?? availableParallelism());

/** mulberry32: small, seeded, the same everywhere. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- seed inputs
const N = 24;
const C = 5;
const seedRandom = rng(12345);
const logits = Float64Array.from({ length: N * C }, () => (seedRandom() - 0.5) * 8);
const labels = Int32Array.from({ length: N }, (_, i) => (i * 7) % C);

function npy(data, descr, shape) {
  const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  const h = Buffer.alloc(total, 0x20);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(h);
  h.writeUInt16LE(total - 10, 8);
  h.write(header, 10, "latin1");
  h[total - 1] = 0x0a;
  return Buffer.concat([h, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
const logitsNpy = npy(Float32Array.from(logits), "<f4", [N, C]);
const logits64Npy = npy(logits, "<f8", [N, C]);
const labelsNpy = npy(
  BigInt64Array.from(labels, (x) => BigInt(x)),
  "<i8",
  [N],
);

/** A zip archive as numpy writes one (stored or deflated members, CRC-32 in the directory). */
function zip(members, deflate) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const [name, data] of members) {
    const body = deflate ? deflateRawSync(data) : data;
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(deflate ? 8 : 0, 10);
    entry.writeUInt32LE(crc32(data), 16);
    entry.writeUInt32LE(body.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    central.push(entry, nameBytes);
    offset += 30 + nameBytes.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const csvText = `${["c0", "c1", "c2", "c3", "c4", "label"].join(",")}\n${Array.from({ length: N }, (_, i) =>
  [...Array.from(logits.subarray(i * C, i * C + C), (x) => x.toPrecision(7)), labels[i]].join(","),
).join("\n")}\n`;

/** safetensors by the specification: 8-byte header length, JSON header, the tensors' bytes. */
function safetensors(tensors) {
  const header = { __metadata__: { format: "pt" } };
  let at = 0;
  for (const [name, dtype, shape, bytes] of tensors) {
    header[name] = { dtype, shape, data_offsets: [at, at + bytes.length] };
    at += bytes.length;
  }
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([length, Buffer.from(text), ...tensors.map((t) => t[3])]);
}
const npyData = (bytes) => bytes.subarray(10 + bytes.readUInt16LE(8));

const F = join(ROOT, "fixtures/formats/");
const seeds = {
  npy: [
    { name: "logits.npy", bytes: logitsNpy, targets: "labels.npy" },
    { name: "logits64.npy", bytes: logits64Npy, targets: "labels.npy" },
  ],
  npz: [
    {
      name: "stored.npz",
      bytes: zip(
        [
          ["logits.npy", logitsNpy],
          ["labels.npy", labelsNpy],
        ],
        false,
      ),
    },
    {
      name: "deflated.npz",
      bytes: zip(
        [
          ["logits.npy", logits64Npy],
          ["labels.npy", labelsNpy],
        ],
        true,
      ),
    },
  ],
  csv: [{ name: "preds.csv", bytes: Buffer.from(csvText) }],
  arrow: [
    "preds.arrow",
    "preds_fixed.arrow",
    "preds_columns.arrow",
    "preds_lz4.arrow",
    "preds_zstd.arrow",
    "preds_batches.arrow",
    "preds_batches_zstd.arrow",
    "preds_columns_lz4.arrow",
    "preds_columns_lz4_packed.arrow",
  ]
    .map((name) => ({ name, bytes: readFileSync(F + name) }))
    // A language model's ragged sequences: list<list<float>> and list<int64> labels, two batches.
    .concat([{ name: "ragged.arrow", bytes: readFileSync(join(ROOT, "fixtures/lm/ragged.arrow")) }]),
  arrows: ["preds.arrows", "preds_batches.arrows", "preds_lz4.arrows"].map((name) => ({
    name,
    bytes: readFileSync(F + name),
  })),
  safetensors: [
    {
      name: "preds.safetensors",
      bytes: safetensors([
        ["logits", "F32", [N, C], npyData(logitsNpy)],
        ["labels", "I64", [N], npyData(labelsNpy)],
      ]),
    },
  ],
  // Real writers' files (polars, arrow-rs): list and per-class layouts, codecs, page v1/v2,
  // dictionary, BYTE_STREAM_SPLIT, delta, float16; read independently by hyparquet.
  parquet: [
    "digits_list.parquet",
    "digits_columns_uncompressed.parquet",
    "digits_columns_snappy.parquet",
    "digits_names.parquet",
    "digits_rowgroups_v1.parquet",
    "digits_rowgroups_v2.parquet",
    "digits_split_delta.parquet",
    "digits_float16.parquet",
  ]
    .map((name) => ({ name, bytes: readFileSync(join(ROOT, "fixtures/parquet/", name)) }))
    .concat([{ name: "ragged.parquet", bytes: readFileSync(join(ROOT, "fixtures/lm/ragged.parquet")) }]),
  gzip: [
    { name: "logits.npy.gz", bytes: gzipSync(logitsNpy), targets: "labels.npy" },
    { name: "preds.csv.gz", bytes: gzipSync(Buffer.from(csvText)) },
  ],
  // No independent zstd decoder here: outcomes are compared with the unmutated file (crashes,
  // hangs and internal errors are what this finds).
  zstd: ["preds.csv.zst", "preds.csv.gz.zst", "labels.csv.zst"].map((name) => ({
    name,
    bytes: readFileSync(join(ROOT, "fixtures/wrapped/", name)),
  })),
  merge: [],
};

// ---------------------------------------------------------------- mutations
const INTERESTING32 = [
  0,
  1,
  -1,
  2,
  7,
  8,
  255,
  256,
  0x7fff,
  0xffff,
  0x7fffffff,
  -0x80000000,
  0x10000,
  40,
  48,
  1 << 20,
];
const INTERESTING64 = [0n, 1n, -1n, 2n ** 40n, 2n ** 62n, 2n ** 31n, 40n, 48n, 2n ** 53n + 1n];

function mutateBytes(bytes, r, format) {
  const b = Buffer.from(bytes);
  const pick = (n) => Math.floor(r() * n);
  const steps = 1 + pick(3);
  let out = b;
  const done = [];
  for (let s = 0; s < steps; s++) {
    const kind = pick(format === "npy" ? 8 : 7);
    const at = (align) => Math.floor(pick(Math.max(1, out.length - 8)) / align) * align;
    if (kind === 0) {
      const i = pick(out.length);
      out[i] ^= 1 << pick(8);
      done.push(`flip@${i}`);
    } else if (kind === 1) {
      const i = at(4);
      if (i + 4 <= out.length) out.writeInt32LE(INTERESTING32[pick(INTERESTING32.length)], i);
      done.push(`i32@${i}`);
    } else if (kind === 2) {
      const i = at(8);
      if (i + 8 <= out.length) out.writeBigInt64LE(INTERESTING64[pick(INTERESTING64.length)], i);
      done.push(`i64@${i}`);
    } else if (kind === 3) {
      const n = pick(out.length);
      out = out.subarray(0, n);
      done.push(`cut@${n}`);
    } else if (kind === 4) {
      const i = pick(out.length);
      const n = 1 + pick(64);
      out = Buffer.concat([out.subarray(0, i), out.subarray(i, i + n), out.subarray(i)]);
      done.push(`dup@${i}+${n}`);
    } else if (kind === 5) {
      const i = pick(out.length);
      const n = 1 + pick(64);
      out = Buffer.concat([out.subarray(0, i), out.subarray(i + n)]);
      done.push(`del@${i}+${n}`);
    } else if (kind === 6) {
      // Metadata words: in the first 1 KiB (NPY header, Arrow schema and first message) and the last 512 bytes
      // (zip directory, Arrow footer), where sizes and offsets live.
      const region = r() < 0.5 ? pick(Math.min(1024, out.length)) : Math.max(0, out.length - 1 - pick(512));
      const i = Math.floor(region / 4) * 4;
      if (i + 4 <= out.length) out.writeInt32LE(INTERESTING32[pick(INTERESTING32.length)], i);
      done.push(`meta32@${i}`);
    } else {
      // NPY header text: shape numbers, dtype, order.
      const text = out.subarray(10, Math.min(out.length, 128)).toString("latin1");
      const edits = [
        [/\(\d+/, `(${pick(50)}`],
        [/, \d+\)/, `, ${pick(9)})`],
        [/<f4|<f8/, ["<f2", ">f4", "<i4", "|u1", "<f8", "<c8"][pick(6)]],
        [/False/, "True"],
      ];
      const [re, to] = edits[pick(edits.length)];
      const next = text.replace(re, to);
      out = Buffer.concat([out.subarray(0, 10), Buffer.from(next, "latin1"), out.subarray(10 + text.length)]);
      done.push(`header:${re.source}`);
    }
  }
  return { bytes: out, how: done.join(" ") };
}

const CSV_TOKENS = [
  '"',
  ",",
  "\r",
  "\n",
  "\u00a0",
  "nan",
  "1e999",
  "-",
  "",
  "\uFFFD",
  "0x10",
  "1,5",
  "\t",
  "99999999999999999999",
  "label",
  "inf",
];
function mutateCsv(bytes, r) {
  let text = bytes.toString("utf8");
  const done = [];
  for (let s = 0, steps = 1 + Math.floor(r() * 3); s < steps; s++) {
    const i = Math.floor(r() * text.length);
    const k = r();
    if (k < 0.6) {
      const t = CSV_TOKENS[Math.floor(r() * CSV_TOKENS.length)];
      text = text.slice(0, i) + t + text.slice(i);
      done.push(`ins@${i}:${JSON.stringify(t)}`);
    } else if (k < 0.8) {
      text = text.slice(0, i) + text.slice(i + 1 + Math.floor(r() * 8));
      done.push(`del@${i}`);
    } else {
      text = text.slice(0, i);
      done.push(`cut@${i}`);
    }
  }
  return { bytes: Buffer.from(text, "utf8"), how: done.join(" ") };
}

function mutateJson(text, r) {
  const doc = JSON.parse(text);
  const paths = [];
  const walk = (v, path) => {
    if (path.length > 0) paths.push(path);
    if (v && typeof v === "object") for (const k of Object.keys(v)) walk(v[k], [...path, k]);
  };
  walk(doc.state, ["state"]);
  walk(doc.options, ["options"]);
  const path = paths[Math.floor(r() * paths.length)];
  let parent = doc;
  for (const k of path.slice(0, -1)) parent = parent[k];
  const key = path[path.length - 1];
  const old = parent[key];
  const choices = [
    typeof old === "number" ? old * 100 : 7,
    -1,
    "064",
    [],
    null,
    1e308,
    "NaN",
    typeof old === "number" ? old + 1 : 0,
    { x: 1 },
    true,
    undefined,
  ];
  const to = choices[Math.floor(r() * choices.length)];
  if (to === undefined) delete parent[key];
  else parent[key] = to;
  return { bytes: Buffer.from(JSON.stringify(doc)), how: `${path.join(".")}=${JSON.stringify(to)}` };
}

/** A safetensors header field changed (shape, offsets, dtype), the header re-serialised with its length. */
function mutateSafetensorsHeader(bytes, r) {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const t = header[names[Math.floor(r() * names.length)]];
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const field = pick(["shape", "data_offsets", "dtype"]);
  if (field === "dtype") t.dtype = pick(["F16", "BF16", "F64", "I32", "U8", "BOOL", "F8_E5M2", 3]);
  else {
    const i = Math.floor(r() * t[field].length);
    t[field][i] = pick([0, 1, -1, t[field][i] + 1, t[field][i] - 1, t[field][i] * 2, 2 ** 53, 1.5, "7"]);
  }
  const text = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  return { bytes: Buffer.concat([length, text, bytes.subarray(8 + n)]), how: `header ${field}` };
}

// ---------------------------------------------------------------- independent readings
const logSoftmaxLoss = (rows, targets, C_) => {
  let sum = 0;
  for (let i = 0; i < targets.length; i++) {
    const row = rows.subarray(i * C_, i * C_ + C_);
    const m = Math.max(...row);
    let s = 0;
    for (const x of row) s += Math.exp(x - m);
    sum += -(row[targets[i]] - m - Math.log(s));
  }
  return sum / targets.length;
};

/** NPY by the spec (little-endian f4/f8 or i8, C order), refusing anything else. */
function readNpy(bytes) {
  if (bytes.length < 10 || bytes.subarray(0, 6).toString("latin1") !== "\x93NUMPY") return null;
  const hl = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + hl).toString("latin1");
  const m =
    /^\{'descr': '(<f4|<f8|<i8)', 'fortran_order': False, 'shape': \((\d+),(?: (\d+))?\), \} *\n$/.exec(
      header,
    );
  if (!m || bytes[6] !== 1) return null;
  const shape = m[3] === undefined ? [Number(m[2])] : [Number(m[2]), Number(m[3])];
  const size = { "<f4": 4, "<f8": 8, "<i8": 8 }[m[1]];
  const data = bytes.subarray(10 + hl);
  if (data.length !== shape.reduce((a, b) => a * b, 1) * size) return null;
  const copy = new Uint8Array(data).buffer;
  const values =
    m[1] === "<f4"
      ? new Float32Array(copy)
      : m[1] === "<f8"
        ? new Float64Array(copy)
        : Float64Array.from(new BigInt64Array(copy), Number);
  return { shape, values };
}

function referenceLoss(format, bytes) {
  if (format === "npy") {
    const p = readNpy(bytes);
    const y = readNpy(labelsNpy).values;
    if (p?.shape.length !== 2 || p.shape[0] !== y.length || p.shape[1] < 1) return null;
    if (p.values.some((x) => Number.isNaN(x)) || [...y].some((t) => t < 0 || t >= p.shape[1])) return null;
    return logSoftmaxLoss(Float64Array.from(p.values), y, p.shape[1]);
  }
  if (format === "csv") {
    const lines = bytes
      .toString("utf8")
      .split("\n")
      .map((l) => l.replace(/\r$/, ""))
      .filter((l) => l !== "");
    if (lines.length < 2 || lines[0] !== "c0,c1,c2,c3,c4,label") return null;
    const num = /^[ \t]*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)[ \t]*$/;
    const rows = [];
    const ys = [];
    for (const line of lines.slice(1)) {
      const f = line.split(",");
      if (f.length !== 6 || !f.every((x) => num.test(x))) return null;
      const v = f.map(Number);
      if (!Number.isInteger(v[5]) || v[5] < 0 || v[5] >= C || v.some((x) => !Number.isFinite(x))) return null;
      rows.push(...v.slice(0, 5));
      ys.push(v[5]);
    }
    return logSoftmaxLoss(Float64Array.from(rows), ys, C);
  }
  if (format === "safetensors") {
    const t = readSafetensors(bytes);
    const p = t?.get("logits");
    const y = t?.get("labels");
    if (!p || !y || p.dtype !== "F32" || y.dtype !== "I64" || p.shape.length !== 2 || y.shape.length !== 1)
      return null;
    const [rows, classes] = p.shape;
    if (rows !== y.shape[0] || classes < 1) return null;
    const values = Float64Array.from(new Float32Array(new Uint8Array(p.bytes).buffer));
    const ys = Float64Array.from(new BigInt64Array(new Uint8Array(y.bytes).buffer), Number);
    if (values.some((x) => Number.isNaN(x)) || [...ys].some((v) => v < 0 || v >= classes)) return null;
    return logSoftmaxLoss(values, ys, classes);
  }
  if (format === "gzip") {
    let inner;
    try {
      inner = gunzipSync(bytes);
    } catch {
      return null;
    }
    return referenceLoss(inner.subarray(0, 6).toString("latin1") === "\x93NUMPY" ? "npy" : "csv", inner);
  }
  return undefined; // no independent reading here: compared with the unmutated input instead
}

/**
 * A Parquet file as hyparquet (an independent reader) reads it: the `logits` list column or the
 * float columns in order, the `label` column (indices, or names of the float columns); null when
 * it refuses the file or the rows are not a clean table of scores.
 */
async function parquetReference(bytes) {
  const { parquetReadObjects } = await import("hyparquet");
  const { compressors } = await import("hyparquet-compressors");
  let rows;
  try {
    rows = await parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      compressors,
    });
  } catch {
    return null;
  }
  if (rows.length === 0) return null;
  // A list-of-lists column (sequences): every inner list is a row, its label from `labels`.
  if (rows[0].labels !== undefined) {
    const flat = [];
    for (const row of rows) {
      if (!Array.isArray(row.logits) || !Array.isArray(row.labels)) return null;
      if (row.logits.length !== row.labels.length) return null;
      for (let t = 0; t < row.logits.length; t++) flat.push({ logits: row.logits[t], label: row.labels[t] });
    }
    if (flat.length === 0) return null;
    rows = flat;
  }
  const keys = Object.keys(rows[0]);
  const scoreKeys = keys.includes("logits") ? null : keys.filter((k) => k !== "label" && k !== "id");
  const values = [];
  const ys = [];
  let classes = -1;
  for (const row of rows) {
    const scores = scoreKeys === null ? row.logits : scoreKeys.map((k) => row[k]);
    if (!scores || typeof scores.length !== "number") return null;
    const v = Array.from(scores);
    if (classes < 0) classes = v.length;
    if (v.length !== classes || v.some((x) => typeof x !== "number" || Number.isNaN(x))) return null;
    const y = row.label;
    const index = typeof y === "string" ? (scoreKeys ?? []).indexOf(y) : Number(y);
    if (index === -100 && typeof y !== "string") continue; // PyTorch's default ignore index, as xent's
    if (y === null || y === undefined || !Number.isInteger(index) || index < 0 || index >= classes)
      return null;
    values.push(...v);
    ys.push(index);
  }
  return logSoftmaxLoss(Float64Array.from(values), ys, classes);
}

/** safetensors by the specification, strictly: null for anything it does not allow. */
function readSafetensors(bytes) {
  if (bytes.length < 8) return null;
  const n = Number(bytes.readBigUInt64LE(0));
  if (n > 1e8 || 8 + n > bytes.length) return null;
  let header;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
  } catch {
    return null;
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return null;
  const sizes = { F32: 4, I64: 8, F64: 8, F16: 2, BF16: 2, I32: 4, U8: 1 };
  const data = bytes.subarray(8 + n);
  const out = new Map();
  const spans = [];
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (!t || typeof t !== "object" || !(t.dtype in sizes) || !Array.isArray(t.shape)) return null;
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return null;
    const o = t.data_offsets;
    if (!Array.isArray(o) || o.length !== 2 || !o.every((x) => Number.isSafeInteger(x) && x >= 0))
      return null;
    if (o[0] > o[1] || o[1] > data.length) return null;
    if (o[1] - o[0] !== t.shape.reduce((a, b) => a * b, 1) * sizes[t.dtype]) return null;
    spans.push(o);
    out.set(name, { dtype: t.dtype, shape: t.shape, bytes: data.subarray(o[0], o[1]) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  let end = 0;
  for (const [b, e] of spans) {
    if (b !== end) return null;
    end = e;
  }
  return end === data.length ? out : null;
}

/** apache-arrow's reading of an uncompressed Arrow input, in a child with a timeout (it can loop). */
function arrowReference(file, stream = false) {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "fuzz/arrowReference.mjs"), file, ...(stream ? ["--stream"] : [])],
    {
      encoding: "utf8",
      timeout: TIMEOUT_MS,
    },
  );
  const loss = Number.parseFloat(r.stdout);
  return Number.isFinite(loss) ? loss : null;
}

// ---------------------------------------------------------------- running
function run(argv, input, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...argv], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function classify(r) {
  if (r.signal === "SIGKILL") return "hang";
  const lines = r.stderr.trimEnd().split("\n").filter(Boolean);
  if (r.code === 2) {
    if (/internal error/.test(r.stderr)) return "internal";
    if (lines.length === 1 && /^xent: error: /.test(lines[0]) && lines[0].length < 700) return "refused";
    return "crash";
  }
  if (r.code === 0) return lines.some((l) => !/^xent: warning: /.test(l)) ? "crash" : "exit0";
  return "crash";
}

const work = mkdtempSync(join(tmpdir(), "xent-fuzz-"));
writeFileSync(join(work, "labels.npy"), labelsNpy);

async function baseline(seed) {
  const file = join(work, `base-${seed.name}`);
  writeFileSync(file, seed.bytes);
  const argv = ["eval", file, ...(seed.targets ? [join(work, seed.targets)] : []), "--json", "--no-progress"];
  const r = await run(argv);
  return r.code === 0 ? JSON.parse(r.stdout).loss : null;
}

async function main() {
  if (ONLY.includes("merge")) {
    const npyFile = join(work, "m.npy");
    writeFileSync(npyFile, logitsNpy);
    const r = await run([
      "eval",
      npyFile,
      join(work, "labels.npy"),
      "--json",
      "--emit-state",
      "--per-class",
      "--worst",
      "3",
    ]);
    seeds.merge.push({ name: "state.json", bytes: Buffer.from(r.stdout) });
  }
  const formats = ONLY.filter((f) => seeds[f]?.length);
  const base = new Map();
  const readable = new Map();
  for (const f of formats) {
    for (const s of seeds[f]) {
      if (f === "merge") continue;
      base.set(s.name, await baseline(s));
      if (f.startsWith("arrow")) readable.set(s.name, arrowReference(join(work, `base-${s.name}`)) !== null);
    }
  }
  const tally = {};
  const failures = [];
  const notes = [];
  let next = args.case === undefined ? 0 : Number(args.case);
  const last = args.case === undefined ? CASES : Number(args.case) + 1;
  const started = Date.now();
  async function worker() {
    for (;;) {
      const k = next++;
      if (k >= last) return;
      const r = rng(SEED * 1_000_003 + k);
      const format = formats[Math.floor(r() * formats.length)];
      const seed = seeds[format][Math.floor(r() * seeds[format].length)];
      const m =
        format === "merge"
          ? mutateJson(seed.bytes.toString(), r)
          : format === "csv"
            ? mutateCsv(seed.bytes, r)
            : format === "safetensors" && r() < 0.5
              ? mutateSafetensorsHeader(seed.bytes, r)
              : mutateBytes(seed.bytes, r, format);
      const dir = args.keep ?? work;
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `case-${SEED}-${k}-${seed.name}`);
      writeFileSync(file, m.bytes);
      const viaStdin =
        format !== "merge" &&
        format !== "npz" &&
        format !== "safetensors" &&
        format !== "parquet" &&
        r() < 0.3;
      const argv =
        format === "merge"
          ? ["merge", file, "--json"]
          : [
              "eval",
              viaStdin ? "-" : file,
              ...(seed.targets ? [join(work, seed.targets)] : []),
              "--json",
              "--no-progress",
              "--threads",
              r() < 0.5 ? "1" : "2",
            ];
      // Worker threads on small files; then, half the time, compressed class columns through the
      // temporary file (a run of all columns, or one column at a time).
      // Arrow batches read in slices of 8 rows on the main thread, a third of the time.
      const slicing = r() < 0.33 ? { XENT_ARROW_SLICE_BYTES: "1" } : {};
      const env =
        r() < 0.5
          ? {
              XENT_PARALLEL_MIN_BYTES: "1",
              ...(r() < 0.5
                ? { XENT_SPILL_MIN_BYTES: "1", ...(r() < 0.5 ? { XENT_SPILL_RUN_BYTES: "1" } : {}) }
                : {}),
            }
          : {};
      const out = await run(argv, viaStdin ? m.bytes : undefined, { ...env, ...slicing });
      let outcome = classify(out);
      if (outcome === "exit0") {
        const doc = JSON.parse(out.stdout);
        if (format === "merge") {
          const c = doc.counts;
          const sane =
            Number.isSafeInteger(c.rows) &&
            c.used <= c.rows &&
            doc.metrics.accuracy >= 0 &&
            doc.metrics.accuracy <= 1;
          outcome = sane ? "ok" : "WRONG";
        } else {
          // apache-arrow reads the seed itself (no codec registered: compressed seeds have no independent reading).
          const independent = format.startsWith("arrow") && readable.get(seed.name);
          const ref = independent
            ? arrowReference(file, viaStdin && format === "arrow")
            : format === "parquet"
              ? await parquetReference(m.bytes)
              : referenceLoss(format, m.bytes);
          const expected = ref === undefined ? base.get(seed.name) : ref;
          if (ref === null) outcome = "lenient";
          else
            outcome =
              Math.abs(doc.loss - expected) <= 1e-6 * Math.abs(expected) + 1e-9
                ? "ok"
                : ref === undefined
                  ? "changed"
                  : "WRONG";
          // Without an independent reading, a run on worker threads must still give the one-thread
          // run's number bit for bit (the workers read and decode the file themselves).
          if (outcome === "changed" && argv.includes("2") && env.XENT_PARALLEL_MIN_BYTES) {
            const one = await run(
              argv.map((a, i) => (argv[i - 1] === "--threads" ? "1" : a)),
              viaStdin ? m.bytes : undefined,
              {},
            );
            if (one.code !== 0 || JSON.parse(one.stdout).loss !== doc.loss) outcome = "WRONG";
          }
        }
      }
      const key = `${format}${viaStdin ? "(stdin)" : ""}`;
      tally[key] ??= {};
      tally[key][outcome] = (tally[key][outcome] ?? 0) + 1;
      if (["lenient", "changed"].includes(outcome) && notes.length < 12)
        notes.push(`${outcome}: --seed ${SEED} --case ${k} (${format}, ${seed.name}: ${m.how})`);
      if (["WRONG", "internal", "crash", "hang"].includes(outcome))
        failures.push(
          `${outcome}: --seed ${SEED} --case ${k} (${format}${viaStdin ? " via stdin" : ""}, ${seed.name}: ${m.how}) ${out.stderr.trim().slice(0, 200)}`,
        );
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const outcomes = ["ok", "refused", "lenient", "changed", "WRONG", "internal", "crash", "hang"];
  console.log(
    `xent fuzz: seed ${SEED}, ${last - (args.case === undefined ? 0 : Number(args.case))} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  console.log(["format", ...outcomes].map((s) => s.padStart(12)).join(""));
  for (const [key, t] of Object.entries(tally).sort())
    console.log([key, ...outcomes.map((o) => String(t[o] ?? 0))].map((s) => s.padStart(12)).join(""));
  for (const f of [...notes, ...failures]) console.log(f);
  if (args.keep === undefined) rmSync(work, { recursive: true, force: true });
  // "changed": exit 0 with another loss than the unmutated file where no independent reading exists
  // (Arrow, NPZ): a mutation of data bytes is a different file, not a failure by itself; listed to look at.
  process.exitCode = failures.length > 0 ? 1 : 0;
}

main();
