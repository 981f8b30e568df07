#!/usr/bin/env node
// The WebAssembly kernel alone, one thread, no I/O: M logits/s of rows_f32 on 4,000 rows of
// N(0, 3²) float32 logits (16 MB, as a worker's chunks; ROWS=200 keeps them in L2). Give other
// generators of the kernel text (copies of scripts/kernel.wat.mjs) to compare them in one run:
// the first is the reference for the printed differences of the per-row sums.
//
//   node bench/kernel.mjs [scripts/kernel.wat.mjs] [variant.wat.mjs ...]     (env: C, ROWS, SCALE)
//
// Machines here are shared: compare variants within one run, and run it more than once.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import wabtInit from "wabt";

const wabt = await wabtInit();
const rows = Number(process.env.ROWS ?? 4000);
const C = Number(process.env.C ?? 1000);
const scale = Number(process.env.SCALE ?? 3);
const paths = process.argv.length > 2 ? process.argv.slice(2) : ["scripts/kernel.wat.mjs"];

async function load(path) {
  const { kernelWat } = await import(pathToFileURL(resolve(path)).href);
  const module = wabt.parseWat("kernel.wat", kernelWat(), { simd: true });
  module.validate();
  return new WebAssembly.Instance(new WebAssembly.Module(module.toBinary({}).buffer), {}).exports;
}

/** The same pseudo-random rows for every variant (a fixed LCG and Box–Muller). */
function fill(k) {
  const yPtr = (rows * C * 4 + 64 + 63) & ~63;
  const out = (yPtr + rows * 4 + 63) & ~63;
  k.memory.grow(Math.ceil((out + rows * 64) / 65536));
  const x = new Float32Array(k.memory.buffer, 0, rows * C);
  let s = 12345;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < x.length; i++) {
    x[i] = scale * Math.sqrt(-2 * Math.log(Math.max(rnd(), 1e-12))) * Math.cos(2 * Math.PI * rnd());
  }
  const y = new Int32Array(k.memory.buffer, yPtr, rows);
  for (let r = 0; r < rows; r++) y[r] = Math.floor(rnd() * C);
  return { yPtr, out };
}

const records = [];
for (const path of paths) {
  const k = await load(path);
  const { yPtr, out } = fill(k);
  for (let i = 0; i < 3; i++) k.rows_f32(0, rows, C, yPtr, 0, out);
  const times = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    k.rows_f32(0, rows, C, yPtr, 0, out);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`${path}: ${((rows * C) / times[7] / 1e3).toFixed(0)} M logits/s (median of 15)`);
  records.push(new Float64Array(k.memory.buffer.slice(out, out + rows * 64)));
}
// Record fields 0..3: m, S, T, Q (see scripts/kernel.wat.mjs). S − 1 and Q − 1 are what carry the
// small terms, so they are compared rather than S and Q.
for (let j = 1; j < records.length; j++) {
  const worst = [0, 0, 0, 0];
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < 4; f++) {
      const a = records[0][r * 8 + f] - (f === 1 || f === 3 ? 1 : 0);
      const b = records[j][r * 8 + f] - (f === 1 || f === 3 ? 1 : 0);
      worst[f] = Math.max(worst[f], Math.abs(a - b) / (Math.abs(a) || 1));
    }
  }
  console.log(
    `  vs ${paths[0]}: largest relative difference in m ${worst[0]}, S−1 ${worst[1]}, T ${worst[2]}, Q−1 ${worst[3]}`,
  );
}
