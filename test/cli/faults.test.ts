import { spawn, spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, writeNpy, writeText } from "../helpers/files.js";
import { BIN, ROOT, xent } from "../helpers/run.js";

const D = `${ROOT}fixtures/digits/`;
const dir = tempDir();

/** A CSV big enough that parsing it takes a few seconds. */
function bigCsv(): string {
  const rows: string[] = [];
  for (let i = 0; i < 400_000; i++) rows.push(`${Math.sin(i)},${Math.cos(i)},${(i * 7) % 3},${i % 3}`);
  return writeText(dir, "big.csv", `a,b,c,label\n${rows.join("\n")}\n`);
}

function stopAfter(args: string[], ms: number, signal: NodeJS.Signals, env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    let sent = 0;
    setTimeout(() => {
      sent = performance.now();
      child.kill(signal);
    }, ms);
    child.on("close", (code) => resolve({ code, stderr, ms: performance.now() - sent }));
  });
}

describe("signals, output faults and unusual inputs", () => {
  it("exits 143 on SIGTERM and 129 on SIGHUP, 130 on Ctrl-C, within a second while parsing CSV, spool removed", async () => {
    const csv = bigCsv();
    for (const [signal, code] of [
      ["SIGTERM", 143],
      ["SIGHUP", 129],
      ["SIGINT", 130],
    ] as const) {
      const tmp = tempDir();
      const r = await stopAfter(["eval", csv, "--per-sample", "--json"], 700, signal, { TMPDIR: tmp });
      expect(r.code).toBe(code);
      expect(r.ms).toBeLessThan(1000);
      expect(r.stderr).toMatch(/^xent: (interrupted|stopped by SIG(TERM|HUP))\n$/);
      expect(readdirSync(tmp)).toEqual([]);
    }
  });

  it("turns a full disk (/dev/full) into exit 2 with one line", async () => {
    const r = spawnSync("bash", ["-c", `node ${BIN} eval ${D}logits.npy ${D}labels.csv --json > /dev/full`], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("xent: error: cannot write the output: ENOSPC\n");
  });

  it("turns a missing TMPDIR into exit 2 with one line", async () => {
    const r = await xent(["eval", `${D}logits.npy`, `${D}labels.csv`, "--per-sample", "--json"], {
      env: { TMPDIR: join(dir, "nowhere") },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^xent: error: cannot make the temporary spool for --per-sample .*no such file\n$/,
    );
  });

  it("reads FIFOs (process substitution) as streams", async () => {
    const logits = join(dir, "fifo.npy");
    const labels = join(dir, "fifo.csv");
    spawnSync("mkfifo", [logits, labels]);
    const r = spawnSync(
      "bash",
      [
        "-c",
        `cat ${D}logits.npy > ${logits} & cat ${D}labels.csv > ${labels} & node ${BIN} eval ${logits} ${labels} --json`,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.stderr).toBe("");
    const plain = await xent(["eval", `${D}logits.npy`, `${D}labels.csv`, "--json"]);
    expect(JSON.parse(r.stdout).loss).toBe(JSON.parse(plain.stdout).loss);
  });

  it("caps --threads and reads side files with a size limit", async () => {
    const ok = await xent(["eval", `${D}logits.npy`, `${D}labels.csv`, "--threads", "100000", "--json"]);
    expect(ok.code).toBe(0);
    const r = await xent(["eval", `${D}logits.npy`, `${D}labels.csv`, "--class-names", "/dev/zero"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--class-names: the file is larger than 64 MiB, \/dev\/zero/);
  });

  it("refuses --per-class beyond 262,144 classes instead of allocating gigabytes", async () => {
    const p = writeNpy(dir, "wide.npy", [], [0, 300_000], "<f4");
    const y = writeNpy(dir, "wide_y.npy", [], [0], "<i8");
    const r = await xent(["eval", p, y, "--per-class"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--per-class takes at most 262144 classes; the predictions have 300000/);
  });
});

describe("a class count a file merely claims", () => {
  it("is refused above 2^24 instead of allocating gigabytes (a 128-byte NPY of shape (0, 2^30))", async () => {
    const dir = tempDir();
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1073741824), }";
    const pad = 64 - ((10 + header.length + 1) % 64);
    const bytes = Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]),
      Buffer.from([(header.length + pad + 1) & 0xff, (header.length + pad + 1) >> 8]),
      Buffer.from(`${header}${" ".repeat(pad)}\n`, "latin1"),
    ]);
    const p = join(dir, "claims.npy");
    writeFileSync(p, bytes);
    const y = writeNpy(dir, "y.npy", [], [0], "<i8");
    const r = await xent(["eval", p, y]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/1073741824 classes: xent reads from 0 to 16777216 per row/);
  });
});
