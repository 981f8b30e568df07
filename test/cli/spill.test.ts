import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/files.js";
import { BIN, ROOT } from "../helpers/run.js";

const F = `${ROOT}fixtures/formats`;
const dir = tempDir();

/**
 * `xent eval` with worker threads on small files; XENT_SPILL_MIN_BYTES=1 sends every compressed
 * batch of class columns through the temporary file, in a TMPDIR of the test's own (checked empty
 * after every run: the file is removed from the directory as soon as it is open).
 */
function run(args: string[], spill: boolean | "column by column", tmp = join(dir, "tmp")) {
  mkdirSync(tmp, { recursive: true });
  const r = spawnSync("node", [BIN, "eval", ...args, "--json", "--per-class", "--worst", "3"], {
    encoding: "utf8",
    timeout: 120_000,
    env: {
      ...process.env,
      TMPDIR: tmp,
      XENT_DEBUG: "1",
      XENT_PARALLEL_MIN_BYTES: "1",
      XENT_SPILL_MIN_BYTES: spill ? "1" : String(2 ** 30),
      // A run of one column: each streams into the blocks on its own.
      ...(spill === "column by column" ? { XENT_SPILL_RUN_BYTES: "1" } : {}),
    },
  });
  expect(readdirSync(tmp)).toEqual([]);
  return r;
}

const debugLine = (stderr: string) => /xent: debug: evaluating on .*/.exec(stderr)?.[0] ?? "";

describe("large compressed batches of class columns are decoded into a temporary file first", () => {
  // What the plan says of each file given a temporary file: zstd columns and LZ4 columns whose
  // blocks LZ4 compressed are decoded into it; LZ4 blocks stored as they are (float32 logits) are
  // read in place, only the file's own labels decoded into it.
  const decoded = /reading the file \(\d+ segments?\), 1 MiB decoded to a temporary file first$/;
  const inPlace = (batches: number, labels: string) =>
    new RegExp(
      `reading the file \\(\\d+ segments?\\), ${batches} batch(es)? of LZ4 class columns read in place${labels}$`,
    );
  for (const [file, spilledLine, batches] of [
    ["preds_columns.arrow", decoded, 1],
    ["preds_columns_lz4.arrow", inPlace(4, ", 1 MiB decoded to a temporary file first"), 4],
    ["preds_columns_lz4_packed.arrow", decoded, 1],
  ] as const) {
    it(`${file}: the same JSON through the temporary file as in memory and on one thread`, () => {
      const path = `${F}/${file}`;
      const one = run([path, "--threads", "1"], false);
      expect(one.status).toBe(0);
      for (const extra of [
        ["--threads", "2"],
        ["--threads", "3", "--chunk-rows", "5"],
        ["--chunk-rows", "1"],
      ]) {
        for (const how of [true, "column by column"] as const) {
          const spilled = run([path, ...extra], how);
          expect(debugLine(spilled.stderr)).toMatch(spilledLine);
          expect(spilled.stdout).toBe(one.stdout);
        }
        const inMemory = run([path, ...extra], false);
        expect(debugLine(inMemory.stderr)).not.toMatch(/temporary/);
        expect(inMemory.stdout).toBe(one.stdout);
      }
    });

    it(`${file}: --rows and --shard through the temporary file match one thread`, () => {
      const path = `${F}/${file}`;
      for (const range of [
        ["--rows", "5:40"],
        ["--rows", "0:1"],
        ["--shard", "2/3"],
      ]) {
        const one = run([path, "--threads", "1", ...range], false);
        for (const how of [true, "column by column"] as const) {
          const spilled = run([path, "--threads", "2", "--chunk-rows", "4", ...range], how);
          expect(debugLine(spilled.stderr)).toMatch(/temporary file/);
          expect(spilled.stdout).toBe(one.stdout);
        }
      }
    });

    it(`${file} + labels.npy: the labels file is read as it is, the scores from the temporary file or in place`, () => {
      const one = run([`${F}/${file}`, `${F}/labels.npy`, "--threads", "1"], false);
      const spilled = run([`${F}/${file}`, `${F}/labels.npy`, "--threads", "2"], true);
      // Stored LZ4 columns beside a labels file: nothing to decode, no temporary file.
      expect(debugLine(spilled.stderr)).toMatch(
        file === "preds_columns_lz4.arrow" ? inPlace(batches, "") : decoded,
      );
      expect(spilled.stdout).toBe(one.stdout);
    });
  }

  it("a column buffer that states another length is an error naming the file, temporary file or not", () => {
    for (const [file, magic] of [
      ["preds_columns.arrow", [0x28, 0xb5, 0x2f, 0xfd]],
      ["preds_columns_lz4.arrow", [0x04, 0x22, 0x4d, 0x18]],
    ] as const) {
      const bytes = readFileSync(`${F}/${file}`);
      // The third compressed buffer's frame: its stated length is the 8 bytes before it.
      let at = -1;
      for (let k = 0; k < 3; k++) at = bytes.indexOf(Buffer.from(magic), at + 1);
      const bad = Buffer.from(bytes);
      bad.writeBigInt64LE(bytes.readBigInt64LE(at - 8) + 8n, at - 8);
      const path = join(dir, `stated_${file}`);
      writeFileSync(path, bad);
      for (const spill of [true, false]) {
        const r = run([path, "--threads", "2"], spill);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/^xent: error: corrupt Arrow data: a compressed buffer states \d+ bytes/m);
        expect(r.stderr).toContain(path);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
    }
  });

  it("with no usable temporary directory (none, or a file) the batch is read in memory, with the same numbers", () => {
    const path = `${F}/preds_columns.arrow`;
    const one = run([path, "--threads", "1"], false);
    const aFile = join(dir, "not-a-directory");
    writeFileSync(aFile, "");
    for (const tmp of [join(dir, "missing"), aFile]) {
      const r = spawnSync("node", [BIN, "eval", path, "--json", "--per-class", "--worst", "3"], {
        encoding: "utf8",
        env: {
          ...process.env,
          TMPDIR: tmp,
          XENT_DEBUG: "1",
          XENT_PARALLEL_MIN_BYTES: "1",
          XENT_SPILL_MIN_BYTES: "1",
        },
      });
      expect(debugLine(r.stderr)).toMatch(/reading the file \(1 segment\)$/);
      expect(r.stdout).toBe(one.stdout);
    }
  });
});

describe("on the main thread, a zstd batch read in slices is decoded into a temporary file first", () => {
  // XENT_ARROW_SLICE_BYTES=1: every batch read in slices of 8 rows, zstd ones through the temporary file.
  const main = (file: string, args: string[], env: Record<string, string>, tmp = join(dir, "tmp-main")) => {
    mkdirSync(tmp, { recursive: true });
    const r = spawnSync("node", [BIN, "eval", `${F}/${file}`, "--threads", "1", ...args], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, TMPDIR: tmp, ...env },
    });
    expect(readdirSync(tmp)).toEqual([]);
    return r;
  };
  for (const file of [
    "preds_columns.arrow",
    "preds_zstd.arrow",
    "preds_batches_zstd.arrow",
    "preds_lz4.arrow",
  ]) {
    it(`${file}: per-sample rows and the summary as read whole`, () => {
      for (const args of [
        ["--per-sample", "--format", "csv"],
        ["--json", "--per-class", "--rows", "3:41"],
      ]) {
        const whole = main(file, args, {});
        expect(whole.status).toBe(0);
        const sliced = main(file, args, { XENT_ARROW_SLICE_BYTES: "1" });
        expect(sliced.stderr).toBe("");
        expect(sliced.stdout).toBe(whole.stdout);
        // No temporary directory: the slices come from streams side by side.
        const streams = main(
          file,
          args,
          { XENT_ARROW_SLICE_BYTES: "1", TMPDIR: join(dir, "missing") },
          join(dir, "tmp-main"),
        );
        expect(streams.stdout).toBe(whole.stdout);
      }
    });
  }

  it("a corrupt column is an error naming the file, and leaves nothing behind", () => {
    const bytes = readFileSync(`${F}/preds_columns.arrow`);
    let at = -1;
    for (let k = 0; k < 3; k++) at = bytes.indexOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), at + 1);
    const bad = Buffer.from(bytes);
    bad.writeBigInt64LE(bytes.readBigInt64LE(at - 8) + 8n, at - 8);
    const path = join(dir, "main_stated.arrow");
    writeFileSync(path, bad);
    const tmp = join(dir, "tmp-main");
    mkdirSync(tmp, { recursive: true });
    const r = spawnSync("node", [BIN, "eval", path, "--threads", "1", "--json"], {
      encoding: "utf8",
      env: { ...process.env, TMPDIR: tmp, XENT_ARROW_SLICE_BYTES: "1" },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^xent: error: corrupt Arrow data: .*main_stated\.arrow/m);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
