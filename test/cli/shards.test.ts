import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/files.js";
import { type Json, ROOT, runInProcess, xent } from "../helpers/run.js";

/**
 * `--rows START:END` and `--shard K/N` evaluate a slice of one file; the shards' `--emit-state`
 * documents merge (`xent merge` of files, a directory, or NDJSON on standard input) to the whole
 * file's numbers bit for bit, in any order, and a missing or doubled shard is an error.
 */
const dir = tempDir();
const DIGITS = [`${ROOT}fixtures/digits/logits.npy`, `${ROOT}fixtures/digits/labels.csv`];
const OPTIONS = ["--per-class", "--worst", "5", "--top-k", "2", "--smoothing", "0.1"];
/** What must not differ between a merge of shards and the whole file's run. */
const numbers = (doc: Json) => ({
  counts: doc.counts,
  loss: doc.loss,
  metrics: doc.metrics,
  per_class: doc.per_class,
  per_sample: doc.per_sample,
  per_group: doc.per_group,
});

async function state(files: string[], args: string[]): Promise<string> {
  return (await runInProcess(["eval", ...files, ...args, "--emit-state", "--json"])).stdout;
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function merge(paths: string[], args: string[] = []): Promise<Json> {
  return JSON.parse((await runInProcess(["merge", ...paths, ...args, "--json"])).stdout);
}

describe("--shard K/N and --rows START:END", () => {
  const inputs: [string, string[]][] = [
    ["NPY with a CSV of labels", DIGITS],
    ["a CSV with its target column", [`${ROOT}fixtures/formats/preds.csv`]],
    ["an LZ4 Arrow file of four batches", [`${ROOT}fixtures/formats/preds_batches.arrow`]],
    ["Parquet of eight row groups", [`${ROOT}fixtures/parquet/digits_rowgroups_v1.parquet`]],
  ];
  for (const [what, files] of inputs) {
    it(`shards of ${what} merge to the whole file's numbers, in any order`, async () => {
      const whole = JSON.parse((await runInProcess(["eval", ...files, ...OPTIONS, "--json"])).stdout);
      const shards: string[] = [];
      for (let k = 0; k < 4; k++)
        shards.push(
          write(`s${k}-${what.length}.json`, await state(files, [...OPTIONS, "--shard", `${k}/4`])),
        );
      const doc = await merge([shards[2]!, shards[0]!, shards[3]!, shards[1]!]);
      expect(numbers(doc)).toEqual(numbers(whole));
      expect(doc.range).toEqual({ start: 0, end: whole.counts.rows, total: whole.counts.rows });
    });
  }

  it("shard K of N is rows ⌊K·rows/N⌋ to ⌊(K+1)·rows/N⌋, numbered as in the whole file", async () => {
    const doc = JSON.parse(await state(DIGITS, ["--shard", "1/3", "--worst", "1"]));
    expect(doc.range).toEqual({ start: 120, end: 240, total: 360 });
    expect(doc.counts.rows).toBe(120);
    expect(doc.per_sample[0].index).toBeGreaterThanOrEqual(120);
    const rows = JSON.parse((await runInProcess(["eval", ...DIGITS, "--rows", "120:240", "--json"])).stdout);
    expect(rows.loss).toBe(doc.loss);
    // END past the end is cut to it, as a Python slice is; START is from 0.
    const tail = JSON.parse((await runInProcess(["eval", ...DIGITS, "--rows", "300:", "--json"])).stdout);
    expect(tail.range).toEqual({ start: 300, end: 360, total: 360 });
    expect(
      JSON.parse((await runInProcess(["eval", ...DIGITS, "--rows", "300:999", "--json"])).stdout).loss,
    ).toBe(tail.loss);
  });

  it("gives the same numbers on worker threads that read the file (segments cut at the range)", async () => {
    const args = [
      "eval",
      `${ROOT}fixtures/formats/preds.npy`,
      `${ROOT}fixtures/formats/labels.npy`,
      "--rows",
      "5:41",
      "--json",
      "--emit-state",
    ];
    const a = await runInProcess([...args, "--threads", "1"]);
    const b = await xent([...args, "--threads", "2", "--chunk-rows", "4"], {
      env: { XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" },
    });
    expect(b.stderr).toContain("threads reading the file");
    // The exact sums' partials may be split differently; every number from them is the same.
    expect(numbers(JSON.parse(b.stdout))).toEqual(numbers(JSON.parse(a.stdout)));
    expect(JSON.parse(b.stdout).state.range).toEqual({ start: 5, end: 41, total: 48 });
  });

  // Compressed batches the range cuts are decoded from their start, and only the range's rows
  // evaluated; uncompressed class columns are read from the range's first row.
  for (const file of [
    "preds_lz4.arrow",
    "preds_batches_zstd.arrow",
    "preds_columns_lz4.arrow",
    "preds_batches.arrows",
  ]) {
    it(`${file}: a range on worker threads gives the one-thread numbers`, async () => {
      for (const rows of ["5:41", "0:3", "30:48", "7:8"]) {
        const args = ["eval", `${ROOT}fixtures/formats/${file}`, "--rows", rows, "--json", ...OPTIONS];
        const a = await runInProcess([...args, "--threads", "1"]);
        for (const chunk of ["3", "1000"]) {
          const b = await xent([...args, "--threads", "2", "--chunk-rows", chunk], {
            env: { XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" },
          });
          expect(b.stderr).toMatch(/reading the file/);
          expect(numbers(JSON.parse(b.stdout))).toEqual(numbers(JSON.parse(a.stdout)));
        }
      }
    });
  }

  it("refuses what it cannot do", async () => {
    const cases: [string[], RegExp][] = [
      [["--rows", "400:500"], /has 360 rows/],
      [["--rows", "10:5"], /END must be above START/],
      [["--rows", "a:b"], /expected START:END/],
      [["--shard", "3/3"], /0 <= K < N/],
      [["--shard", "1/3", "--rows", "0:5"], /give one of them/],
    ];
    for (const [args, message] of cases)
      await expect(runInProcess(["eval", ...DIGITS, ...args])).rejects.toThrow(message);
    const stdin = await xent(["eval", "-", `${ROOT}fixtures/formats/labels.npy`, "--shard", "0/2"], {
      input: "",
    });
    expect(stdin.code).toBe(2);
  });
});

describe("--rows on a CSV: the rows before the range are counted by their line ends, not parsed", () => {
  // Blank lines, \r\n and a lone \r, a quoted id holding a line end (csv-parse's record) and a
  // quoted number: each range's rows, numbers and lines are the whole file's.
  const lines = [
    "id,a,b,c,label",
    "r0,1.5,-2,0.25,0",
    "",
    "r1,0.5,1e-3,2,1\r",
    'r2,3,"4.5",-1,2',
    "\r",
    "r3,1,1,1,0\rr4,2,0,-2,1",
    '"r5\nsecond line",0,0,0,2',
    "r6,-1,-2,-3,0",
    "",
    "",
    "r7,7,8,9,1",
    "r8,0.125,0.25,0.5,2",
  ];
  const file = write("rows.csv", `${lines.join("\n")}\n`);
  it("gives every range the whole run's per-sample rows", async () => {
    const run = async (extra: string[]) =>
      JSON.parse((await runInProcess(["eval", file, "--per-sample", "--json", ...extra])).stdout) as Json;
    const whole = await run([]);
    const rows = whole.per_sample as Json[];
    expect(rows).toHaveLength(9);
    for (let a = 0; a < 9; a++)
      for (const b of [a + 1, a + 3, 9]) {
        if (b > 9) continue;
        const part = await run(["--rows", `${a}:${b}`]);
        expect(part.per_sample).toEqual(rows.slice(a, b));
      }
  });
  it("names the line of a bad value in the range as the whole run does", async () => {
    const bad = write("rows-bad.csv", `${[...lines.slice(0, -1), "r8,0.125,x,0.5,2"].join("\n")}\n`);
    const fail = async (extra: string[]) => {
      try {
        await runInProcess(["eval", bad, "--json", ...extra]);
        return "no error";
      } catch (e) {
        return (e as Error & { describe?: () => string }).describe?.() ?? (e as Error).message;
      }
    };
    const whole = await fail([]);
    expect(whole).toMatch(/line 15/);
    expect(await fail(["--rows", "7:9"])).toBe(whole);
    expect(await fail(["--shard", "2/3"])).toBe(whole);
  });
});

describe("xent merge of shards: files, a directory, standard input; missing and doubled shards", () => {
  it("takes a directory's *.json in any order and NDJSON on standard input", async () => {
    const whole = JSON.parse((await runInProcess(["eval", ...DIGITS, ...OPTIONS, "--json"])).stdout);
    const shardDir = join(dir, "shards");
    const lines: string[] = [];
    spawnSync("mkdir", ["-p", shardDir]);
    for (let k = 0; k < 11; k++) {
      const text = await state(DIGITS, [...OPTIONS, "--shard", `${k}/11`]);
      writeFileSync(join(shardDir, `part-${k}.json`), text);
      lines.push(JSON.stringify(JSON.parse(text)));
    }
    expect(numbers(await merge([shardDir]))).toEqual(numbers(whole));
    const r = await xent(["merge", "-", "--json"], { input: `${lines.reverse().join("\n")}\n` });
    expect(r.code).toBe(0);
    expect(numbers(JSON.parse(r.stdout))).toEqual(numbers(whole));
  });

  it("names a missing shard, a doubled one, and a mix of shards and whole files", async () => {
    const s = [];
    for (let k = 0; k < 3; k++) s.push(write(`m${k}.json`, await state(DIGITS, ["--shard", `${k}/3`])));
    await expect(merge([s[0]!, s[2]!])).rejects.toThrow(
      "rows 120 to 240 of 360 are in no shard: a shard is missing",
    );
    await expect(merge([s[0]!, s[1]!])).rejects.toThrow("rows 240 to 360 are in no shard");
    await expect(merge([s[0]!, s[0]!, s[1]!, s[2]!])).rejects.toThrow("rows 0 to 120 are in two shards");
    const plain = write("plain.json", await state(DIGITS, []));
    await expect(merge([plain, s[0]!])).rejects.toThrow(/only shards of one kind merge/);
  });

  it("a shard of only ignored rows still emits its state (its loss is null)", async () => {
    const L = `${ROOT}fixtures/lm/`;
    const doc = JSON.parse(await state([`${L}logits.npy`, `${L}labels.npy`], ["--shard", "2/11"]));
    expect(doc.counts.used).toBeGreaterThanOrEqual(0);
    const all: string[] = [];
    for (let k = 0; k < 11; k++)
      all.push(
        write(`lm${k}.json`, await state([`${L}logits.npy`, `${L}labels.npy`], ["--shard", `${k}/11`])),
      );
    const whole = JSON.parse(
      (await runInProcess(["eval", `${L}logits.npy`, `${L}labels.npy`, "--json"])).stdout,
    );
    expect((await merge(all)).loss).toBe(whole.loss);
  });

  it("compare shards (--shard sets the bootstrap's first row) merge to the whole comparison", async () => {
    const base = `${ROOT}fixtures/formats/preds.npy`;
    const cand = `${ROOT}fixtures/formats/preds_fixed.arrow`;
    const labels = `${ROOT}fixtures/formats/labels.npy`;
    const whole = JSON.parse(
      (await runInProcess(["compare", base, cand, labels, "--resamples", "200", "--json"])).stdout,
    );
    const parts: string[] = [];
    for (let k = 0; k < 3; k++)
      parts.push(
        write(
          `c${k}.json`,
          (
            await runInProcess([
              "compare",
              base,
              cand,
              labels,
              "--resamples",
              "200",
              "--shard",
              `${k}/3`,
              "--emit-state",
              "--json",
            ])
          ).stdout,
        ),
      );
    const doc = await merge(parts);
    expect(doc.delta).toEqual(whole.delta);
  });
});

const hasParallel = spawnSync("parallel", ["--version"]).status === 0;
describe.runIf(hasParallel)("the README's GNU parallel recipe (runs when parallel is installed)", () => {
  it("evaluates 4 shards in parallel on localhost and merges them to the whole", () => {
    const out = join(dir, "parallel");
    const script = `mkdir -p ${out} && parallel --will-cite -j 2 'node ${ROOT}bin/xent.js eval ${DIGITS.join(" ")} --shard {}/4 --emit-state --json > ${out}/shard-{}.json' ::: 0 1 2 3 && node ${ROOT}bin/xent.js merge ${out} --json`;
    const r = spawnSync("sh", ["-c", script], { encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(0);
    const whole = spawnSync("node", [`${ROOT}bin/xent.js`, "eval", ...DIGITS, "--json"], {
      encoding: "utf8",
    });
    expect(JSON.parse(r.stdout).loss).toBe(JSON.parse(whole.stdout).loss);
  });
});
