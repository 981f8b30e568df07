import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tempDir, writeText } from "../helpers/files.js";
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

  it("is the same on worker threads (which must not read the unshifted targets themselves)", async () => {
    // Spawned: the built binary with the threshold for threads at 1 byte. Before the fix, the file
    // workers read labels.npy as stored and printed the unshifted 3.70 here.
    const one = await run(["--shift-labels", "--threads", "1"]);
    for (const threads of ["2", "3"]) {
      const r = await xent(
        ["eval", `${L}logits.npy`, `${L}labels.npy`, "--shift-labels", "--threads", threads, "--json"],
        { env: { XENT_PARALLEL_MIN_BYTES: "1" } },
      );
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).metrics).toEqual(one.metrics);
    }
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
