import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { tempDir, writeText } from "../helpers/files.js";
import { BIN, type Json, ROOT, runInProcess, xent } from "../helpers/run.js";

/** gzip and zstd around any format (fixtures/wrapped/generate.sh): the same numbers as the plain file. */
const W = `${ROOT}fixtures/wrapped/`;
const dir = tempDir();
const raw = (name: string, bytes: Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

/** A document without `inputs` (which names the files) and `wrapper`. */
async function numbers(args: string[], stdin?: Readable): Promise<Json> {
  const r = await runInProcess(["eval", ...args, "--json"], stdin);
  const doc = JSON.parse(r.stdout);
  return { counts: doc.counts, loss: doc.loss, metrics: doc.metrics };
}

describe("compressed inputs (gzip, zstd) read as the files inside them", () => {
  const digits = [`${ROOT}fixtures/digits/logits.npy`, `${ROOT}fixtures/digits/labels.csv`];
  const preds = [`${ROOT}fixtures/formats/preds.csv`];

  for (const [name, args, plain] of [
    ["NPY in gzip", [`${W}logits.npy.gz`, digits[1]!], digits],
    ["NPY in zstd (level 19)", [`${W}logits.npy.zst`, digits[1]!], digits],
    ["NPY in two zstd frames", [`${W}logits.two-frames.npy.zst`, digits[1]!], digits],
    ["targets CSV in a single-segment zstd frame", [digits[0]!, `${W}labels.csv.zst`], digits],
    ["targets CSV in a streamed zstd frame", [digits[0]!, `${W}labels.stdin.csv.zst`], digits],
    ["CSV in gzip", [`${W}preds.csv.gz`], preds],
    ["CSV in zstd", [`${W}preds.csv.zst`], preds],
    ["CSV in gzip in zstd", [`${W}preds.csv.gz.zst`], preds],
    ["CSV in zstd without a content checksum", [`${W}preds.no-check.csv.zst`], preds],
    ["an Arrow stream in gzip", [`${W}preds.arrows.gz`], [`${ROOT}fixtures/formats/preds.arrows`]],
  ] as const) {
    it(`${name}: bit-identical numbers`, async () => {
      expect(await numbers([...args])).toEqual(await numbers([...plain]));
    });
  }

  it("says so in inputs (wrapper), and reads standard input too", async () => {
    const doc = JSON.parse((await runInProcess(["eval", `${W}preds.csv.gz.zst`, "--json"])).stdout);
    expect(doc.inputs.predictions.wrapper).toBe("zstd+gzip");
    expect(doc.inputs.predictions.format).toBe("csv");
    const stdin = Readable.from([readFileSync(`${W}logits.npy.zst`)]);
    expect(await numbers(["-", digits[1]!], stdin)).toEqual(await numbers([...digits]));
  });

  it("refuses truncated and corrupted data with one line naming the file", async () => {
    const gz = readFileSync(`${W}logits.npy.gz`);
    const zst = readFileSync(`${W}logits.npy.zst`);
    const flipped = Buffer.from(gz);
    flipped[gz.length - 6]! ^= 0xff; // the CRC-32 of the content
    for (const [file, message] of [
      [
        raw("t.npy.gz", gz.subarray(0, 5000)),
        /corrupt gzip data: the file ends inside the compressed data \(truncated\?\), .*t\.npy\.gz$/,
      ],
      [raw("t.npy.zst", zst.subarray(0, 5000)), /corrupt zstd data: .*t\.npy\.zst$/],
      [raw("f.npy.gz", flipped), /corrupt gzip data: incorrect data check, .*f\.npy\.gz$/],
      [
        // a frame header stating a 2 GiB window (descriptor exponent 21: 2^31 bytes)
        raw("w.npy.zst", Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0, 0, 0)),
        /zstd data with a 2048 MiB window: xent decompresses with at most 128 MiB/,
      ],
    ] as const) {
      const r = await xent(["eval", file, digits[1]!]);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
    }
  });

  it("checks every zstd frame's content checksum: one flipped bit is an error, not another loss", async () => {
    // fzstd does not check XXH64; this file once gave 2.29114 where the data gives 2.29109.
    const r = await xent(["eval", `${ROOT}fixtures/corrupt/zstd_bit_flip.csv.zst`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^xent: error: corrupt zstd data: frame 1's content does not match its checksum \(XXH64 6cb299ef, stated 8d598c22\), \S*zstd_bit_flip\.csv\.zst\n$/,
    );
  });

  it("checks the window of every zstd frame, and skips skippable frames", async () => {
    const frame = readFileSync(`${W}labels.csv.zst`);
    const huge = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0, 0, 0, 0);
    const second = raw("two.csv.zst", Buffer.concat([frame, huge]));
    const r = await xent(["eval", digits[0]!, second]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toMatch(/zstd data with a 2048 MiB window: .*two\.csv\.zst$/);
    // A skippable frame (magic 0x184D2A50, 4 bytes of length, its bytes) before the data.
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]), frame]);
    const file = raw("skip.csv.zst", skippable);
    expect(await numbers([digits[0]!, file])).toEqual(await numbers([...digits]));
  });

  it("reads an Arrow file inside gzip (its stream), and explains that an NPZ cannot be", async () => {
    const npz = raw("p.npz.gz", gzipSync(readFileSync(`${ROOT}fixtures/formats/preds.npz`)));
    const arrow = raw("p.arrow.gz", gzipSync(readFileSync(`${ROOT}fixtures/formats/preds_batches.arrow`)));
    expect((await xent(["eval", npz])).stderr).toMatch(
      /an NPZ archive cannot be read from gzip-compressed data \(its index is at the end\); decompress it to a regular file/,
    );
    expect(await numbers([arrow])).toEqual(await numbers([`${ROOT}fixtures/formats/preds_batches.arrow`]));
  });

  it("keeps a gzip bomb to bounded memory (200 MB of zeros in 200 KB)", async () => {
    // An NPY header for 25M float64 zeros, then zeros: gzip makes 200 MB into ~200 KB.
    const header = `{'descr': '<f8', 'fortran_order': False, 'shape': (5000000, 5), }`;
    const pad = 64 - ((10 + header.length + 1) % 64);
    const preamble = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    preamble.writeUInt16LE(header.length + pad + 1, 8);
    const head = Buffer.concat([preamble, Buffer.from(`${header}${" ".repeat(pad)}\n`, "latin1")]);
    const zeros = gzipSync(Buffer.concat([head, Buffer.alloc(200_000_000)]), { level: 9 });
    const file = raw("bomb.npy.gz", zeros);
    const labels = writeText(dir, "y.csv", "label\n0\n");
    const r = await xent(["eval", file, labels]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/row counts differ: .*bomb\.npy\.gz has 5000000 rows, .*y\.csv has 1/);
    // Peak memory, where GNU time can tell it: the 200 MB never sit in memory at once.
    if (existsSync("/usr/bin/time")) {
      const timed = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, BIN, "eval", file, labels], {
        encoding: "utf8",
      });
      const kib = Number(timed.stderr.trim().split("\n").pop());
      expect(kib).toBeLessThan(160 * 1024);
    }
  });
});
