import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tempDir, writeNpy, writeText } from "../helpers/files.js";
import { type Json, ROOT, runInProcess, xent } from "../helpers/run.js";

/** Golden: torch 1.13 with the shift done as transformers' ForCausalLMLoss does (fixtures/lm/generate.py). */
const L = `${ROOT}fixtures/lm/`;
const expected = JSON.parse(readFileSync(`${L}expected.json`, "utf8"));
const dir = tempDir();
const close = (a: number, b: number) => Math.abs(a / b - 1) < 1e-6;

async function run(args: string[]): Promise<Json> {
  return JSON.parse(
    (await runInProcess(["eval", `${L}logits.npy`, `${L}labels.npy`, ...args, "--json"])).stdout,
  );
}

describe("language models: --shift-labels, --per-sequence, --bytes", () => {
  it("--shift-labels gives torch's shifted loss (padding left and right, a masked token inside)", async () => {
    const doc = await run(["--shift-labels"]);
    expect(close(doc.loss, expected.loss)).toBe(true);
    expect(doc.counts).toEqual({
      rows: 21,
      used: expected.tokens,
      ignored: 21 - expected.tokens,
      skipped: 0,
    });
    expect(close(doc.metrics.bits_per_token, expected.bits_per_token)).toBe(true);
    // Without it, the unshifted loss (the plausible wrong number the issue names).
    expect(close((await run([])).loss, expected.unshifted_loss)).toBe(true);
  });

  it("is the same for any --chunk-rows (a block's last row takes the next block's first label)", async () => {
    const whole = await run(["--shift-labels", "--per-sequence"]);
    for (const rows of ["1", "2", "5", "6"])
      expect(await run(["--shift-labels", "--per-sequence", "--chunk-rows", rows])).toEqual(whole);
  });

  it("is the same on worker threads that read the file and shift the labels themselves", async () => {
    // Spawned: the built binary with the threshold for threads at 1 byte. Before the fix, the file
    // workers read labels.npy as stored and printed the unshifted 3.70 here; now they read each
    // segment's next label (segments of 1, 2, 5 rows: sequences and segments cut anywhere).
    const one = await run(["--shift-labels", "--threads", "1"]);
    for (const [threads, rows] of [
      ["2", "1"],
      ["3", "2"],
      ["3", "5"],
    ]) {
      const r = await xent(
        [
          "eval",
          `${L}logits.npy`,
          `${L}labels.npy`,
          "--shift-labels",
          "--threads",
          threads!,
          "--chunk-rows",
          rows!,
          "--json",
        ],
        { env: { XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" } },
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("threads reading the file");
      expect(JSON.parse(r.stdout).metrics).toEqual(one.metrics);
    }
    // A bad label is named at its own row, whichever worker meets it first.
    const labels = readFileSync(`${L}labels.npy`);
    const bad = Buffer.from(labels);
    bad.writeBigInt64LE(99n, bad.length - 8 * 14);
    const path = `${dir}/bad_labels.npy`;
    writeFileSync(path, bad);
    const r = await xent(
      ["eval", `${L}logits.npy`, path, "--shift-labels", "--threads", "3", "--chunk-rows", "1"],
      { env: { XENT_PARALLEL_MIN_BYTES: "1" } },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/99.*row 7/);
  });

  it("--per-sequence: each sequence's tokens, nll and perplexity, and sequence_perplexity", async () => {
    const doc = await run(["--shift-labels", "--per-sequence"]);
    expect(doc.per_group.map((g: Json) => g.group)).toEqual(["0", "1", "2"]);
    doc.per_group.forEach((g: Json, b: number) => {
      expect(g.used).toBe(expected.per_sequence[b].tokens);
      expect(close(g.metrics.nll, expected.per_sequence[b].nll)).toBe(true);
      expect(close(g.metrics.perplexity, expected.per_sequence[b].perplexity)).toBe(true);
    });
    expect(close(doc.metrics.sequence_perplexity, expected.sequence_perplexity)).toBe(true);
  });

  it("--bytes FILE|N: bits_per_byte and byte_perplexity as lm-evaluation-harness defines them", async () => {
    const byFile = await run(["--shift-labels", "--bytes", `${L}bytes.txt`]);
    expect(close(byFile.metrics.bits_per_byte, expected.bits_per_byte)).toBe(true);
    expect(close(byFile.metrics.byte_perplexity, expected.byte_perplexity)).toBe(true);
    const byTotal = await run(["--shift-labels", "--bytes", "95", "--assert", "bits_per_byte<=1"]);
    expect(byTotal.metrics.bits_per_byte).toBe(byFile.metrics.bits_per_byte);
    expect(byTotal.assertions[0].passed).toBe(true);
  });

  it("refuses what it cannot do", async () => {
    const csv = writeText(dir, "p.csv", "a,b,label\n1,2,0\n");
    await expect(runInProcess(["eval", csv, "--shift-labels"])).rejects.toThrow(
      /need logits of shape \(B, T, V\)/,
    );
    await expect(
      runInProcess(["eval", `${L}logits.npy`, `${L}labels.npy`, "--per-sequence", "--group-by", "x"]),
    ).rejects.toThrow(/does not go with --group-by/);
    const bad = writeText(dir, "bytes.txt", "30\nabc\n");
    await expect(runInProcess(["eval", `${L}logits.npy`, `${L}labels.npy`, "--bytes", bad])).rejects.toThrow(
      "--bytes: 'abc' on line 2 is not a whole number of bytes",
    );
  });
});

/** Golden: ragged sequences (lengths 5, 1, 9, 0, 4, 6), shifted sequence by sequence in torch. */
const ragged = JSON.parse(readFileSync(`${L}ragged_expected.json`, "utf8"));

async function evalJson(files: string[], args: string[]): Promise<Json> {
  return JSON.parse(
    (await runInProcess(["eval", ...files.map((f) => `${L}${f}`), ...args, "--json"])).stdout,
  );
}

describe("language models in Arrow and Parquet: a column of lists of lists, one row per sequence", () => {
  const layouts: [string, string[]][] = [
    ["list<list<float>> with a list<int64> label column, two record batches", ["ragged.arrow"]],
    ["list<fixed_size_list<float, 11>>, with id and group columns", ["ragged_fixed.arrow"]],
    ["scores and labels in separate Arrow files", ["ragged_logits.arrow", "ragged_labels.arrow"]],
    ["labels as a flat NPY of one id per token", ["ragged_logits.arrow", "ragged_labels.npy"]],
    ["Parquet (arrow-rs): row groups of 2 sequences, sequences across pages", ["ragged.parquet"]],
  ];
  for (const [what, files] of layouts) {
    it(`gives torch's shifted and unshifted losses: ${what}`, async () => {
      const doc = await evalJson(files, ["--shift-labels", "--per-sequence"]);
      expect(close(doc.loss, ragged.loss)).toBe(true);
      expect(doc.counts.rows).toBe(25);
      expect(doc.counts.used).toBe(ragged.tokens);
      expect(close(doc.metrics.sequence_perplexity, ragged.sequence_perplexity)).toBe(true);
      // Sequence 3 has no positions (no group); sequence 1 has one, which predicts nothing.
      expect(doc.per_group.map((g: Json) => [g.group, g.count, g.used])).toEqual([
        ["0", 5, 4],
        ["1", 1, 0],
        ["2", 9, 7],
        ["4", 4, 3],
        ["5", 6, 5],
      ]);
      for (const s of ragged.per_sequence) {
        const g = doc.per_group.find((x: Json) => x.group === String(s.sequence));
        expect(close(g.metrics.perplexity, s.perplexity)).toBe(true);
      }
      expect(close((await evalJson(files, [])).loss, ragged.unshifted_loss)).toBe(true);
    });
  }

  it("is the same bits for any --chunk-rows and on worker threads (sequences split across blocks)", async () => {
    const whole = await evalJson(["ragged.arrow"], ["--shift-labels", "--per-sequence"]);
    for (const rows of ["1", "2", "3", "7"])
      expect(
        await evalJson(["ragged.arrow"], ["--shift-labels", "--per-sequence", "--chunk-rows", rows]),
      ).toEqual(whole);
    for (const file of ["ragged.arrow", "ragged.parquet"]) {
      const r = await xent(
        [
          "eval",
          `${L}${file}`,
          "--shift-labels",
          "--per-sequence",
          "--threads",
          "2",
          "--chunk-rows",
          "4",
          "--json",
        ],
        {
          env: { XENT_PARALLEL_MIN_BYTES: "1", XENT_DEBUG: "1" },
        },
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("2 threads fed blocks");
      const threaded = JSON.parse(r.stdout);
      expect(threaded.metrics).toEqual(whole.metrics);
      expect(threaded.per_group).toEqual(whole.per_group);
    }
  });

  it("per-sample rows carry pos: [sequence, position] (and [b, t] for (B, T, V) logits)", async () => {
    const doc = await evalJson(["ragged.arrow"], ["--per-sample"]);
    expect(doc.per_sample.slice(4, 8).map((s: Json) => [s.index, s.pos])).toEqual([
      [4, [0, 4]],
      [5, [1, 0]],
      [6, [2, 0]],
      [7, [2, 1]],
    ]);
    const worst = await evalJson(["ragged.arrow"], ["--worst", "2"]);
    for (const w of worst.per_sample) expect(w.pos).toEqual(doc.per_sample[w.index].pos);
    const npy = JSON.parse(
      (await runInProcess(["eval", `${L}logits.npy`, `${L}labels.npy`, "--per-sample", "--json"])).stdout,
    );
    expect(npy.per_sample[9].pos).toEqual([1, 2]);
    const csv = (
      await runInProcess(["eval", `${L}ragged.arrow`, "--per-sample", "--format", "csv"])
    ).stdout.split("\n");
    expect(csv[0]).toBe("index,id,pos_0,pos_1,target,loss,nll,pred,p_target");
    expect(csv[6]!.startsWith("5,,1,0,")).toBe(true);
  });

  it("takes an id or --group-by column per sequence as every token's", async () => {
    const doc = await evalJson(
      ["ragged_fixed.arrow"],
      ["--group-by", "source", "--id-column", "doc_id", "--worst", "1"],
    );
    expect(doc.per_group.map((g: Json) => [g.group, g.count])).toEqual([
      ["books", 7],
      ["web", 18],
    ]);
    expect(doc.per_sample[0].id).toBe(`doc${doc.per_sample[0].pos[0]}`);
  });

  it("refuses labels whose sequences are cut differently, even with the same token count", async () => {
    const r = await xent(["eval", `${L}ragged_logits.arrow`, `${L}ragged_wrong_lengths.arrow`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `xent: error: the files cut the tokens into sequences differently: token 4 is in sequence 0 of ${L}ragged_logits.arrow and in sequence 1 of ${L}ragged_wrong_lengths.arrow (their sequences' lengths differ)\n`,
    );
    const npy = await xent(["eval", `${L}logits.npy`, `${L}ragged_labels.arrow`, "--shift-labels"]);
    expect(npy.code).toBe(2);
    expect(npy.stderr).toMatch(
      /token 5 is in sequence 1 of .*ragged_labels.arrow but in sequence 0 of the predictions, whose sequences have 7 positions/,
    );
  });
});

describe("language models in xent compare", () => {
  it("compares shifted losses, bits per token and byte, and sequence perplexity, sequence by sequence", async () => {
    const bytes = readFileSync(`${L}logits.npy`);
    const values = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + 128, bytes.byteOffset + bytes.length),
    );
    const candidate = writeNpy(
      dir,
      "half.npy",
      Float32Array.from(values, (x) => x * 0.5),
      [3, 7, 11],
      "<f4",
    );
    const lm = ["--shift-labels", "--per-sequence", "--bytes", `${L}bytes.txt`];
    const base = await run(lm);
    const cand = JSON.parse(
      (await runInProcess(["eval", candidate, `${L}labels.npy`, ...lm, "--json"])).stdout,
    );
    const doc = JSON.parse(
      (
        await runInProcess([
          "compare",
          `${L}logits.npy`,
          candidate,
          `${L}labels.npy`,
          ...lm,
          "--assert",
          "delta.bits_per_token<=0",
          "--json",
        ])
      ).stdout,
    );
    expect(doc.baseline.loss).toBe(base.loss);
    expect(doc.candidate.metrics).toEqual(cand.metrics);
    for (const m of ["bits_per_token", "bits_per_byte", "sequence_perplexity"])
      expect(doc.delta[m].value).toBe(cand.metrics[m] - base.metrics[m]);
    expect(doc.delta.bits_per_token.low).toBeCloseTo(doc.delta.nll.low / Math.LN2, 12);
    expect(doc.per_group.map((g: Json) => g.group)).toEqual(["0", "1", "2"]);
    expect(doc.assertions[0].passed).toBe(cand.metrics.bits_per_token <= base.metrics.bits_per_token);
  });

  it("pairs ragged sequences in Arrow and Parquet (the same values: every delta 0)", async () => {
    const doc = JSON.parse(
      (await runInProcess(["compare", `${L}ragged.arrow`, `${L}ragged.parquet`, "--shift-labels", "--json"]))
        .stdout,
    );
    expect(close(doc.baseline.loss, ragged.loss)).toBe(true);
    expect(doc.delta.loss.value).toBe(0);
    expect(doc.delta.bits_per_token.value).toBe(0);
  });
});

describe("language models in --emit-state and xent merge", () => {
  const evalState = async (files: string[], args: string[]) =>
    (await runInProcess(["eval", ...files, ...args, "--emit-state", "--json"])).stdout;
  const merged = async (states: string[], args: string[] = []) => {
    const paths = states.map((s, i) => writeText(dir, `state${i}-${Math.random()}.json`, s));
    return JSON.parse((await runInProcess(["merge", ...paths, ...args, "--json"])).stdout);
  };

  it("(B, T, V) shards merge to the whole file's numbers, sequences renumbered, bytes summed", async () => {
    const bytes = readFileSync(`${L}logits.npy`);
    const values = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + 128, bytes.byteOffset + bytes.length),
    );
    const labelBytes = readFileSync(`${L}labels.npy`);
    const labels = Array.from(
      new BigInt64Array(
        labelBytes.buffer.slice(labelBytes.byteOffset + 128, labelBytes.byteOffset + labelBytes.length),
      ),
      Number,
    );
    const shard = (name: string, from: number, to: number, bytesPerSequence: string) => [
      writeNpy(dir, `${name}.npy`, values.subarray(from * 77, to * 77), [to - from, 7, 11], "<f4"),
      writeNpy(dir, `${name}_labels.npy`, labels.slice(from * 7, to * 7), [to - from, 7], "<i8"),
      writeText(dir, `${name}_bytes.txt`, bytesPerSequence),
    ];
    const [a, aLabels, aBytes] = shard("a", 0, 2, "30\n25\n");
    const [b, bLabels, bBytes] = shard("b", 2, 3, "40\n");
    const lm = ["--shift-labels", "--per-sequence"];
    const whole = await run([...lm, "--bytes", `${L}bytes.txt`]);
    const doc = await merged(
      [
        await evalState([a!, aLabels!], [...lm, "--bytes", aBytes!]),
        await evalState([b!, bLabels!], [...lm, "--bytes", bBytes!]),
      ],
      ["--assert", "bits_per_byte<=9"],
    );
    expect(doc.metrics).toEqual(whole.metrics);
    expect(doc.per_group).toEqual(whole.per_group);
    expect(doc.assertions[0].passed).toBe(true);
  });

  it("ragged shards (a trailing empty sequence included) merge to the whole file's per-sequence numbers", async () => {
    const { tableFromIPC, tableToIPC } = await import("apache-arrow");
    const table = tableFromIPC(readFileSync(`${L}ragged_fixed.arrow`));
    const a = writeBinary("ragged_a.arrow", tableToIPC(table.slice(0, 4), "file"));
    const b = writeBinary("ragged_b.arrow", tableToIPC(table.slice(4), "file"));
    const lm = ["--shift-labels", "--per-sequence"];
    const whole = await evalJson(["ragged_fixed.arrow"], lm);
    const states = [await evalState([a], lm), await evalState([b], lm)];
    expect(JSON.parse(states[0]!).state.lm).toEqual({ per_sequence: true, bytes: null, sequences: 4 });
    const doc = await merged(states);
    expect(doc.metrics).toEqual(whole.metrics);
    expect(doc.per_group).toEqual(whole.per_group);
    // Shards of different options do not merge.
    await expect(merged([states[0]!, await evalState([b], ["--shift-labels"])])).rejects.toThrow(
      /was evaluated with no language-model options|evaluated with/,
    );
  });
});

function writeBinary(name: string, bytes: Uint8Array): string {
  const path = `${dir}/${name}`;
  writeFileSync(path, bytes);
  return path;
}
