import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/files.js";
import { ROOT, xent } from "../helpers/run.js";

const dir = `${ROOT}fixtures/corrupt/`;
const files = readdirSync(dir).filter((f) => /\.(arrows?|npz)$/.test(f));

/** One line on stderr, exit 2, no stack trace, no internal error, nothing on stdout. */
function refusedCleanly(r: { code: number | null; stdout: string; stderr: string }) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^xent: error: /);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr.length).toBeLessThan(400);
}

describe("corrupted inputs of the fuzzing campaign are refused, never a number or a hang", () => {
  for (const file of files) {
    it(`${file}: exit 2 with what is wrong, on one thread and on worker threads`, async () => {
      for (const env of [{ XENT_PARALLEL_MIN_BYTES: "1" }, {}] as Record<string, string>[]) {
        refusedCleanly(
          await xent(["eval", dir + file, "--json", "--threads", env.XENT_PARALLEL_MIN_BYTES ? "2" : "1"], {
            env,
          }),
        );
      }
    });
  }

  it("refuses a batch found corrupt while the one before it is evaluated, from standard input", async () => {
    // The batch read ahead failed while no one awaited it yet: Node killed the process with a
    // stack trace (an unhandled rejection) instead of the one-line error (fuzz seed 31, case 234).
    for (const name of ["arrow_stdin_bad_second_batch.arrow", "arrows_batch_beyond_checks.arrows"]) {
      refusedCleanly(
        await xent(["eval", "-", "--json", "--threads", "1"], {
          input: readFileSync(`${dir}${name}`, "latin1"),
          latin1: true,
        }),
      );
    }
  });

  it("reads a CSV with lone CR line endings from a path as from standard input", async () => {
    const file = `${dir}csv_lone_cr.csv`;
    const fromPath = await xent(["eval", file, "--json"]);
    const fromStdin = await xent(["eval", "-", "--json"], {
      input: readFileSync(file, "latin1"),
      latin1: true,
    });
    expect(fromPath.stderr).toBe("");
    const a = JSON.parse(fromPath.stdout);
    const b = JSON.parse(fromStdin.stdout);
    expect(a.counts.rows).toBe(2);
    expect(a.loss).toBe(b.loss);
  });

  it("reads CSV from standard input with the same core and the same errors as from a path", async () => {
    for (const text of [
      "c0,c1,label\n3.8\n1,2,0\n",
      "a,b,label\r1,2,0\r3,4,1\r",
      "a,b,label\n1,2,0\n3,4\n",
    ]) {
      const file = join(tempDir(), "t.csv");
      writeFileSync(file, text);
      const fromPath = await xent(["eval", file, "--json"]);
      const fromStdin = await xent(["eval", "-", "--json"], { input: text });
      expect(fromStdin.code).toBe(fromPath.code);
      expect(fromStdin.stdout).toBe(fromPath.stdout.replaceAll(file, "<stdin>"));
      expect(fromStdin.stderr).toBe(fromPath.stderr.replaceAll(file, "<stdin>"));
    }
  });

  it("merge refuses states whose counts are inconsistent or of the wrong type, and takes the valid one", async () => {
    refusedCleanly(await xent(["merge", `${dir}merge_correct_100x.json`]));
    refusedCleanly(await xent(["merge", `${dir}merge_rows_array.json`]));
    const ok = await xent(["merge", `${dir}merge_base_plain.json`, "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).counts.rows).toBe(64);
  });
});
