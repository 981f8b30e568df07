#!/usr/bin/env node
// npm run bench: xent against the numpy / pandas reference evaluators on the same files, runs
// interleaved, medians and ratios reported (machines here are shared and noisy: ratios, not times).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const data = `${root}bench/data`;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const python = process.env.PYTHON ?? "python3";

const has = (module) => spawnSync(python, ["-c", `import ${module}`]).status === 0;
if (!has("numpy")) {
  console.error("bench: python3 with numpy is needed to generate the inputs");
  process.exit(2);
}
execFileSync(python, [`${root}bench/generate.py`, data], { stdio: "inherit" });

/** Wall time of one command in seconds, and its peak RSS in MiB (GNU time, when present). */
function measure(cmd, args) {
  const time = existsSync("/usr/bin/time");
  const start = process.hrtime.bigint();
  const r = time
    ? spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], { encoding: "utf8" })
    : spawnSync(cmd, args, { encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const rss = time ? Number(r.stderr.trim().split("\n").pop()) / 1024 : Number.NaN;
  return { seconds, rss, loss: JSON.parse(r.stdout).loss };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const xent = (args) => ["node", [`${root}bin/xent.js`, "eval", ...args, "--json"]];
const benches = [
  {
    name: "NPY 200k×1000 f32",
    xent: xent([`${data}/logits.npy`, `${data}/labels.npy`]),
    reference: [
      "numpy",
      [python, [`${root}bench/reference_npy.py`, `${data}/logits.npy`, `${data}/labels.npy`]],
    ],
  },
  {
    name: "CSV 100k×100",
    xent: xent([`${data}/logits.csv`, `${data}/labels.csv`]),
    reference: [
      "pandas",
      [python, [`${root}bench/reference_csv.py`, `${data}/logits.csv`, `${data}/labels.csv`]],
    ],
  },
];

console.log(`runs: ${runs} (interleaved), medians\n`);
console.log("bench                 xent s   ref s   ref/xent   xent MiB   ref MiB   |Δloss|/loss");
for (const b of benches) {
  const [refName, refCmd] = b.reference;
  if (!has(refName)) {
    console.log(`${b.name.padEnd(20)}  (skipped: ${refName} is not installed)`);
    continue;
  }
  const x = [];
  const ref = [];
  for (let i = 0; i < runs; i++) {
    x.push(measure(...b.xent));
    ref.push(measure(...refCmd));
  }
  const xs = median(x.map((m) => m.seconds));
  const rs = median(ref.map((m) => m.seconds));
  const diff = Math.abs(x[0].loss - ref[0].loss) / Math.abs(ref[0].loss);
  console.log(
    `${b.name.padEnd(20)}  ${xs.toFixed(2).padStart(6)}  ${rs.toFixed(2).padStart(6)}  ${(rs / xs).toFixed(2).padStart(9)}  ${median(
      x.map((m) => m.rss),
    )
      .toFixed(0)
      .padStart(9)}  ${median(ref.map((m) => m.rss))
      .toFixed(0)
      .padStart(8)}   ${diff.toExponential(1)}`,
  );
}
