import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { tempDir, writeNpy } from "../helpers/files.js";
import { BIN, type Json, ROOT, xent } from "../helpers/run.js";

const DIGITS = ["fixtures/digits/logits.npy", "fixtures/digits/labels.csv"];
const NAMES = "zero,one,two,three,four,five,six,seven,eight,nine";
const F = "fixtures/formats";

const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addSchema(JSON.parse(readFileSync(`${ROOT}schema/xent.eval.schema.json`, "utf8")));
ajv.addSchema(JSON.parse(readFileSync(`${ROOT}schema/xent.eval.ndjson.schema.json`, "utf8")));
const validDocument = ajv.getSchema("https://xent.dev/schema/xent.eval.schema.json")!;
const validLine = ajv.getSchema("https://xent.dev/schema/xent.eval.ndjson.schema.json")!;

function expectValid(validate: typeof validDocument, value: Json) {
  if (!validate(value))
    expect.fail(`${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 400)}`);
}

const RUNS: string[][] = [
  [...DIGITS],
  [...DIGITS, "--smoothing", "0.1", "--per-class", "--top-k", "1,3,5", "--class-names", NAMES],
  [...DIGITS, "--worst", "5", "--assert", "loss<0.3", "--assert", "ece>0.5"],
  [...DIGITS, "--reduction", "none"],
  [`${F}/preds.csv`, "--per-sample", "--per-class", "--class-weights", "1,2,3,4,5"],
  [`${F}/preds.npz`, "--worst", "3", "--emit-state"],
  [`${F}/preds_lz4.arrow`, "--reduction", "sum", "--on-nan", "skip"],
  ["fixtures/golden/data/logprobs.npy", "fixtures/golden/data/y.npy", "--input-type", "log-probs"],
  [
    "fixtures/golden/data/preds_ids.tsv",
    "fixtures/golden/data/soft.csv",
    "--id-column",
    "id",
    "--per-sample",
    "--smoothing",
    "0.2",
    "--smoothing-style",
    "others",
  ],
  [
    "fixtures/golden/data/edge_neginf.npy",
    "fixtures/golden/data/y_edge.npy",
    "--smoothing",
    "0.1",
    "--per-sample",
    "--per-class",
  ],
];

describe("every json and ndjson output validates against the JSON Schema in schema/", () => {
  for (const argv of RUNS) {
    it(argv.join(" "), async () => {
      const json = await xent(["eval", ...argv, "--format", "json"]);
      expect(json.stderr).toBe("");
      expectValid(validDocument, JSON.parse(json.stdout));
      if (argv.includes("--emit-state")) return; // a json-only flag
      const ndjson = await xent(["eval", ...argv, "--format", "ndjson"]);
      const lines = ndjson.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l));
      for (const line of lines) expectValid(validLine, line);
      expect(lines.at(-1).type).toBe("summary");
      expect(lines.slice(0, -1).every((l: Json) => l.type === "sample")).toBe(true);
      const { type: _, ...summary } = lines.at(-1);
      const { per_sample: __, ...document } = JSON.parse(json.stdout);
      expect(summary).toEqual(document);
    });
  }
  it("rejects what is not in the schema", () => {
    expect(validDocument({ schema: "xent.eval/1" })).toBe(false);
    expect(validLine({ type: "sample", index: 0 })).toBe(false);
  });
});

describe("table output", () => {
  const argv = [
    "eval",
    ...DIGITS,
    "--smoothing",
    "0.1",
    "--per-class",
    "--sort",
    "loss",
    "--top-classes",
    "4",
  ];
  argv.push(
    "--worst",
    "3",
    "--top-k",
    "3",
    "--class-names",
    NAMES,
    "--assert",
    "loss<=0.8",
    "--assert",
    "accuracy>=0.99",
  );

  it("reads well without colour (NO_COLOR)", async () => {
    const r = await xent(argv, { env: { NO_COLOR: "1" } });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("\x1b[");
    expect(Math.max(...r.stdout.split("\n").map((l) => l.length))).toBeLessThanOrEqual(80);
    await expect(r.stdout).toMatchFileSnapshot("__snapshots__/digits.table.txt");
  });

  it("has colour when forced (FORCE_COLOR=1), and the same text underneath", async () => {
    const plain = await xent(argv, { env: { NO_COLOR: "1" } });
    const r = await xent(argv, { env: { FORCE_COLOR: "1", NO_COLOR: "" } });
    expect(r.stdout).toContain("\x1b[");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI escapes
    expect(r.stdout.replace(/\x1b\[[0-9;]*m/g, "")).toBe(plain.stdout);
    await expect(r.stdout).toMatchFileSnapshot("__snapshots__/digits.table.color.txt");
  });

  it("FORCE_COLOR=0 wins over a terminal, NO_COLOR over the terminal's default", async () => {
    const r = await xent(argv, { env: { FORCE_COLOR: "0" } });
    expect(r.stdout).not.toContain("\x1b[");
  });

  it("never puts escape codes in json, ndjson or csv, even when colour is forced", async () => {
    for (const format of ["json", "ndjson", "csv"]) {
      const r = await xent(["eval", ...DIGITS, "--format", format], {
        env: { FORCE_COLOR: "3", NO_COLOR: "" },
      });
      expect(r.stdout).not.toContain("\x1b[");
    }
  });

  it("summarises the classes it does not list", async () => {
    const r = await xent(["eval", ...DIGITS, "--per-class", "--top-classes", "3"]);
    expect(r.stdout).toMatch(/^per class, by class \(3 of 10\)$/m);
    expect(r.stdout).toMatch(/^… 7 more classes with 253 rows \(--top-classes 0 shows all\)$/m);
  });
});

describe("csv output", () => {
  it("writes per-sample rows under the contract's header, pandas-readable", async () => {
    const r = await xent([
      "eval",
      "fixtures/golden/data/preds_ids.tsv",
      "fixtures/golden/data/y_ignore.csv",
      "--id-column",
      "id",
      "--format",
      "csv",
    ]);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("index,id,target,loss,nll,pred,p_target");
    expect(lines).toHaveLength(49);
    expect(lines[4]).toBe("3,s3,-100,0,,,");
    const [index, id, target, loss, nll, pred, p] = lines[1]!.split(",");
    expect([index, id, target]).toEqual(["0", "s0", "1"]);
    expect(Number(loss)).toBe(Number(nll));
    expect(Number(pred)).toBeGreaterThanOrEqual(0);
    expect(Number(p)).toBeCloseTo(Math.exp(-Number(nll)), 12);
  });

  it("reports failed assertions on stderr, the exit code 1, nothing more on stdout", async () => {
    const r = await xent(["eval", ...DIGITS, "--format", "csv", "--assert", "loss<0.1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^xent: assertion failed: loss<0\.1 \(0\.218\d+\)\n$/);
    expect(r.stdout.split("\n")[0]).toBe("index,id,target,loss,nll,pred,p_target");
  });
});

describe("pipes and signals", () => {
  const dir = tempDir();
  const N = 200_000;
  const logits = writeNpy(
    dir,
    "l.npy",
    Float64Array.from({ length: N * 4 }, (_, i) => Math.cos(i)),
    [N, 4],
  );
  const targets = writeNpy(
    dir,
    "t.npy",
    Float64Array.from({ length: N }, (_, i) => i % 4),
    [N],
    "<i8",
  );

  it("`| head -1` on a 200k-row --per-sample --format ndjson run exits 0 with empty stderr", () => {
    const r = spawnSync(
      "bash",
      [
        "-c",
        `node ${BIN} eval ${logits} ${targets} --per-sample --format ndjson | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`,
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ type: "sample", index: 0 });
    expect(r.stderr).toBe("exit=0\n");
  });

  it("Ctrl-C stops the run: one line on stderr, no partial JSON, exit 130", async () => {
    const child = spawn(process.execPath, [BIN, "eval", "-", targets, "--per-sample", "--json"], {
      cwd: ROOT,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    // Half of the predictions arrive; xent is then waiting for the rest when the signal comes.
    const bytes = readFileSync(logits);
    child.stdin.write(bytes.subarray(0, bytes.length / 2));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill("SIGINT");
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code).toBe(130);
    expect(stderr).toBe("xent: interrupted\n");
    expect(stdout).toBe("");
  });

  it("leaves no spool file behind when interrupted", async () => {
    // A TMPDIR of its own: other test files' runs spool into the shared one meanwhile.
    const tmp = tempDir();
    const child = spawn(process.execPath, [BIN, "eval", logits, "-", "--per-sample", "--json"], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp },
    });
    child.stdin.write(readFileSync(targets).subarray(0, 100_000));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(readdirSync(tmp).length).toBe(1);
    child.kill("SIGINT");
    await new Promise((resolve) => child.on("close", resolve));
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe("the progress bar", () => {
  const argv = `eval ${ROOT}${F}/preds.npy ${ROOT}${F}/labels.npy --chunk-rows 1 --json`;

  it("appears on a real terminal (script's pseudo-terminal) and is erased at the end", () => {
    const log = join(tempDir(), "pty.txt");
    const r = spawnSync("script", ["-qfec", `node ${BIN} ${argv} > ${log}.json`, log], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, XENT_PROGRESS_DELAY_MS: "0" },
    });
    expect(r.status).toBe(0);
    const screen = readFileSync(log, "utf8");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the bar redraws with CR and ESC[2K
    expect(screen).toMatch(/\r\x1b\[2K\[#+-*\] +\d+% · \d+ rows · [\d.]+[kM]? rows\/s/);
    // The last thing drawn erases the bar (script then adds its own closing line).
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the bar redraws with CR and ESC[2K
    expect(screen).toMatch(/\r\x1b\[2K\s*(Script done.*)?\s*$/);
    expect(JSON.parse(readFileSync(`${log}.json`, "utf8")).counts.rows).toBe(48);
  });

  it("is absent when stderr is a file, and with --no-progress or --quiet on a terminal", () => {
    const r = spawnSync("node", [BIN, ...argv.split(" ")], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, XENT_PROGRESS_DELAY_MS: "0" },
    });
    expect(r.stderr).toBe("");
    for (const flag of ["--no-progress", "--quiet"]) {
      const log = join(tempDir(), "pty.txt");
      spawnSync("script", ["-qfec", `node ${BIN} ${argv} ${flag} > ${log}.json`, log], {
        env: { ...process.env, XENT_PROGRESS_DELAY_MS: "0" },
        timeout: 120_000,
      });
      expect(readFileSync(log, "utf8")).not.toContain("rows/s");
    }
  });
});

describe("xent completion", () => {
  it("prints a bash script that completes commands, flags and flag values", () => {
    const script = spawnSync("node", [BIN, "completion", "bash"], {
      encoding: "utf8",
      timeout: 120_000,
    }).stdout;
    const complete = (words: string[]) =>
      spawnSync(
        "bash",
        [
          "-c",
          `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _xent; echo "\${COMPREPLY[@]}"`,
        ],
        {
          encoding: "utf8",
          timeout: 120_000,
        },
      ).stdout.trim();
    expect(complete(["xent", "e"])).toBe("eval");
    expect(complete(["xent", "eval", "--smoothing-s"])).toBe("--smoothing-style");
    expect(complete(["xent", "eval", "--format", ""])).toBe("table json ndjson csv markdown");
    expect(complete(["xent", "inspect", "--format", ""])).toBe("table json");
    expect(complete(["xent", "completion", ""])).toBe("bash zsh");
  });

  it("prints a zsh script through bashcompinit", () => {
    const script = spawnSync("node", [BIN, "completion", "zsh"], {
      encoding: "utf8",
      timeout: 120_000,
    }).stdout;
    expect(script.split("\n")[0]).toBe("#compdef xent");
    expect(script).toContain("bashcompinit");
  });
});

describe("write backpressure", () => {
  it.skipIf(!existsSync("/usr/bin/time"))(
    "keeps memory bounded when stdout is slow (90 MB of ndjson into a stalled pipe)",
    () => {
      const dir = tempDir();
      const N = 600_000;
      const logits = writeNpy(
        dir,
        "l.npy",
        Float64Array.from({ length: N * 4 }, (_, i) => Math.sin(i * 0.37)),
        [N, 4],
      );
      const targets = writeNpy(
        dir,
        "t.npy",
        Float64Array.from({ length: N }, (_, i) => (i * 7) % 4),
        [N],
        "<i8",
      );
      const r = spawnSync(
        "bash",
        [
          "-c",
          `/usr/bin/time -f %M -o ${dir}/rss node ${BIN} eval ${logits} ${targets} --format ndjson | (sleep 2; wc -c)`,
        ],
        { encoding: "utf8", timeout: 120_000 },
      );
      expect(Number(r.stdout.trim())).toBeGreaterThan(80e6);
      // Were the 90 MB of text buffered instead of waiting for 'drain', the peak would pass 200 MiB.
      const rssMiB = Number(readFileSync(`${dir}/rss`, "utf8").trim().split("\n").pop()) / 1024;
      expect(rssMiB).toBeLessThan(180);
    },
  );
});
