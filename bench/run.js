#!/usr/bin/env node
// npm run bench: xent against the numpy / pandas reference evaluators on the same files, runs
// interleaved, medians and ratios reported (machines here are shared and noisy: ratios, not times).
// PYTHON picks the interpreter (default python3; Debian's /usr/bin/python3 has pandas);
// BENCH_RUNS the runs per command (default 5); BENCH_ONLY a comma list of bench names.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const data = `${root}bench/data`;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const python = process.env.PYTHON ?? "python3";
const only = process.env.BENCH_ONLY?.split(",");

const has = (module) => spawnSync(python, ["-c", `import ${module}`]).status === 0;
if (!has("numpy")) {
  console.error("bench: python3 with numpy is needed to generate the inputs");
  process.exit(2);
}
execFileSync(python, [`${root}bench/generate.py`, data], { stdio: "inherit" });
execFileSync("node", [`${root}bench/arrow.mjs`, data], { stdio: "inherit" });
// Parquet inputs need writers installed aside (see bench/parquet.mjs); their rows are skipped without.
execFileSync("node", [`${root}bench/parquet.mjs`, data], { stdio: "inherit" });
execFileSync("node", [`${root}bench/compressed-arrow.mjs`, data], { stdio: "inherit" });
execFileSync("node", [`${root}bench/single-batch-arrow.mjs`, data], { stdio: "inherit" });

/** Wall time of one command in seconds, its peak RSS in MiB (GNU time, when present), its loss. */
function measure([cmd, args]) {
  const time = existsSync("/usr/bin/time");
  const start = process.hrtime.bigint();
  const r = time
    ? spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 26 })
    : spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const rss = time ? Number(r.stderr.trim().split("\n").pop()) / 1024 : Number.NaN;
  const doc = JSON.parse(r.stdout);
  // xent compare: the candidate's loss (its reference ends with the candidate's eval).
  return { seconds, rss, loss: doc.loss ?? doc.candidate.loss };
}

/** nodejs-polars installed aside (bench/compressed-arrow.mjs says how), for its rows. */
const polarsModule = `${process.env.NODE_PATH ?? "/tmp/pq/node_modules"}/nodejs-polars`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const xent = (args) => ["node", [`${root}bin/xent.js`, "eval", ...args, "--json"]];
const py = (script, args) => [python, [`${root}bench/${script}`, ...args]];
const benches = [
  {
    name: "npy",
    what: "NPY 200k×1000 f32 vs numpy (mmap, 8192-row chunks)",
    xent: xent([`${data}/logits.npy`, `${data}/labels.npy`]),
    ref: ["numpy", py("reference_npy.py", [`${data}/logits.npy`, `${data}/labels.npy`])],
    values: 200_000 * 1000,
  },
  {
    name: "csv",
    what: "CSV 100k×100 vs pandas.read_csv + numpy",
    xent: xent([`${data}/logits.csv`, `${data}/labels.csv`]),
    ref: ["pandas", py("reference_csv.py", [`${data}/logits.csv`, `${data}/labels.csv`])],
    values: 100_000 * 100,
  },
  {
    name: "csv-polars",
    what: "the CSV bench vs polars (nodejs-polars read_csv, multi-threaded, + the loss in JS)",
    xent: xent([`${data}/logits.csv`, `${data}/labels.csv`]),
    ref: [
      "xent-npy",
      ["node", [`${root}bench/reference_polars_csv.mjs`, `${data}/logits.csv`, `${data}/labels.csv`]],
    ],
    values: 100_000 * 100,
    needs: polarsModule,
  },
  {
    name: "csv-stdin",
    what: "the CSV bench's logits piped on standard input vs xent reading the same CSV by path",
    xent: ["sh", ["-c", `cat ${data}/logits.csv | node ${root}bin/xent.js eval - ${data}/labels.csv --json`]],
    ref: ["xent-npy", xent([`${data}/logits.csv`, `${data}/labels.csv`])],
    values: 100_000 * 100,
  },
  {
    name: "shard4",
    what: "--shard 0/4 … 3/4 of the NPY one after another, then xent merge, vs one xent run",
    xent: [
      "sh",
      [
        "-c",
        `d=$(mktemp -d) && for k in 0 1 2 3; do node ${root}bin/xent.js eval ${data}/logits.npy ${data}/labels.npy --shard $k/4 --emit-state --json > $d/$k.json || exit 1; done && node ${root}bin/xent.js merge $d --json; s=$?; rm -rf $d; exit $s`,
      ],
    ],
    ref: ["xent-npy", xent([`${data}/logits.npy`, `${data}/labels.npy`])],
    values: 200_000 * 1000,
  },
  {
    name: "arrow",
    what: "Arrow file, same logits, vs xent on the NPY",
    xent: xent([`${data}/logits.arrow`]),
    ref: ["xent-npy", xent([`${data}/logits.npy`, `${data}/labels.npy`])],
    values: 200_000 * 1000,
  },
  ...["lz4", "zstd"].map((codec) => ({
    name: `arrow-${codec}`,
    what: `Arrow file, same logits, ${codec.toUpperCase()} (polars, 25 batches), vs xent on the NPY`,
    xent: xent([`${data}/batches_${codec}.arrow`]),
    ref: ["xent-npy", xent([`${data}/logits.npy`, `${data}/labels.npy`])],
    values: 200_000 * 1000,
    needs: `${data}/batches_${codec}.arrow`,
  })),
  // polars' writeIPC of a DataFrame: the whole file one record batch (bench/single-batch-arrow.mjs).
  ...["list", "cols"].flatMap((layout) =>
    ["plain", "lz4", "zstd"].map((codec) => ({
      name: `one-${layout}-${codec}`,
      what: `Arrow, one record batch (polars), 50k×1000 f32 as ${layout === "list" ? "a FixedSizeList column" : "1000 float columns"}, ${codec === "plain" ? "uncompressed" : codec.toUpperCase()}, vs xent on the same rows as NPY`,
      xent: xent([`${data}/single_${layout}_${codec}.arrow`]),
      ref: ["xent-npy", xent([`${data}/logits50k.npy`, `${data}/labels50k.npy`])],
      values: 50_000 * 1000,
      needs: `${data}/single_${layout}_${codec}.arrow`,
    })),
  ),
  {
    name: "vocab",
    what: "NPY 2000×131072 f32 (LLM rows) vs numpy",
    xent: xent([`${data}/vocab.npy`, `${data}/vocab_labels.npy`]),
    ref: ["numpy", py("reference_npy.py", [`${data}/vocab.npy`, `${data}/vocab_labels.npy`])],
    values: 2_000 * 131_072,
  },
  // Language-model rows: one sequence of 2,000 positions, shifted (t against the label at t + 1).
  ...[
    ["lm", "vocab.npy", "float32 NPY"],
    ["lm-f16", "vocab16.npy", "float16 NPY"],
    ["lm-bf16", "vocab_bf16.safetensors", "bfloat16 safetensors"],
  ].map(([name, file, what]) => ({
    name,
    what: `--shift-labels on 2000×131072 ${what} vs numpy's shifted loss on the float32 NPY`,
    xent: xent([`${data}/${file}`, `${data}/vocab_labels.npy`, "--shift-labels"]),
    ref: ["numpy", py("reference_npy.py", [`${data}/vocab.npy`, `${data}/vocab_labels.npy`, "--shift"])],
    values: 2_000 * 131_072,
  })),
  {
    name: "f16",
    what: "the NPY bench's logits as float16 vs xent on the float32 NPY (time per value)",
    xent: xent([`${data}/logits16.npy`, `${data}/labels.npy`]),
    ref: ["xent-npy", xent([`${data}/logits.npy`, `${data}/labels.npy`])],
    values: 200_000 * 1000,
  },
  {
    name: "binary",
    what: "NPY 10M f32 logits, one per row (binary BCE) vs numpy",
    xent: xent([`${data}/binary.npy`, `${data}/binary_labels.npy`]),
    ref: ["numpy", py("reference_binary.py", [`${data}/binary.npy`, `${data}/binary_labels.npy`])],
    values: 10_000_000,
  },
  {
    name: "compare",
    what: "xent compare, 1000 paired resamples: the NPY vs its float16 copy, vs two plain evals",
    xent: [
      "node",
      [
        `${root}bin/xent.js`,
        "compare",
        `${data}/logits.npy`,
        `${data}/logits16.npy`,
        `${data}/labels.npy`,
        "--json",
      ],
    ],
    ref: [
      "xent-npy",
      [
        "sh",
        [
          "-c",
          `node ${root}bin/xent.js eval ${data}/logits.npy ${data}/labels.npy --json > /dev/null && node ${root}bin/xent.js eval ${data}/logits16.npy ${data}/labels.npy --json`,
        ],
      ],
    ],
    values: 2 * 200_000 * 1000,
  },
  ...["snappy", "zstd"].flatMap((codec) => [
    {
      name: `pq-list-${codec}`,
      what: `Parquet list<float> (arrow-rs, ${codec}), 50k×1000 f32, vs xent on the same rows as NPY`,
      xent: xent([`${data}/list_${codec}.parquet`]),
      ref: ["xent-npy", xent([`${data}/logits50k.npy`, `${data}/labels50k.npy`])],
      values: 50_000 * 1000,
      needs: `${data}/list_${codec}.parquet`,
    },
    {
      name: `pq-cols-${codec}`,
      what: `Parquet 1000 float32 columns (polars, ${codec}, one row group) vs xent on the NPY`,
      xent: xent([`${data}/columns_${codec}.parquet`]),
      ref: ["xent-npy", xent([`${data}/logits.npy`, `${data}/labels.npy`])],
      values: 200_000 * 1000,
      needs: `${data}/columns_${codec}.parquet`,
    },
  ]),
].filter((b) => !only || only.includes(b.name));

console.log(`runs: ${runs} (interleaved), medians\n`);
console.log("bench   xent s  ref s  ref/xent  xent M logits/s  xent MiB  ref MiB  |Δloss|/loss  reference");
const rates = {};
for (const b of benches) {
  const [refName, refCmd] = b.ref;
  if (b.needs && !existsSync(b.needs)) {
    console.log(
      `${b.name.padEnd(5)}  (skipped: no ${b.needs}; see bench/parquet.mjs, bench/compressed-arrow.mjs and bench/single-batch-arrow.mjs)`,
    );
    continue;
  }
  if (refName !== "xent-npy" && !has(refName)) {
    console.log(`${b.name.padEnd(5)}  (skipped: ${refName} is not installed)`);
    continue;
  }
  const x = [];
  const r = [];
  for (let i = 0; i < runs; i++) {
    x.push(measure(b.xent));
    r.push(measure(refCmd));
  }
  const xs = median(x.map((m) => m.seconds));
  const rs = median(r.map((m) => m.seconds));
  rates[b.name] = b.values / xs / 1e6;
  const diff = Math.abs(x[0].loss - r[0].loss) / Math.abs(r[0].loss);
  console.log(
    [
      b.name.padEnd(6),
      xs.toFixed(2).padStart(6),
      rs.toFixed(2).padStart(5),
      (rs / xs).toFixed(2).padStart(8),
      rates[b.name].toFixed(0).padStart(15),
      median(x.map((m) => m.rss))
        .toFixed(0)
        .padStart(8),
      median(r.map((m) => m.rss))
        .toFixed(0)
        .padStart(7),
      diff.toExponential(1).padStart(12),
      ` ${b.what}`,
    ].join("  "),
  );
}
if (rates.npy && rates.vocab)
  console.log(
    `\nLLM-sized rows run at ${(rates.vocab / rates.npy).toFixed(2)}× the NPY bench's per-logit rate.`,
  );
