#!/usr/bin/env node
// Writes the JSON document xent prints for every golden case (fixtures/golden/cases.json), with
// and without --per-class/--worst/--emit-state, to one file: run it before and after a change and
// diff the two to show the output is byte-identical.  node scripts/golden-json.mjs OUT.json
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const { cases } = JSON.parse(readFileSync(`${root}fixtures/golden/cases.json`, "utf8"));
const variants = [[], ["--per-class", "--worst", "3", "--emit-state", "--top-k", "1"]];
const jobs = cases.flatMap((c) =>
  variants.map((extra) => ({ name: `${c.name} ${extra.join(" ")}`, args: [...c.args, ...extra] })),
);
const out = {};
const run = ({ args }) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [`${root}bin/xent.js`, ...args], { cwd: root });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += `[stderr] ${d}`));
    child.on("close", (code) => resolve(`${text}[exit ${code}]`));
  });
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      out[job.name] = await run(job);
    }
  }),
);
writeFileSync(process.argv[2], JSON.stringify(out, Object.keys(out).sort(), 1));
console.log(`${jobs.length} runs written to ${process.argv[2]}`);
