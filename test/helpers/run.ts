import { spawn } from "node:child_process";
import { type Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { runCompare } from "../../src/cli/commands/compare.js";
import { quietIO, runEval } from "../../src/cli/commands/eval.js";
import { runInspect } from "../../src/cli/commands/inspect.js";
import { runMerge } from "../../src/cli/commands/merge.js";
import { parseCommandLine } from "../../src/cli/program.js";
import { readSettings, type Settings } from "../../src/cli/settings.js";
import { Writer } from "../../src/output/writer.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = `${ROOT}bin/xent.js`;

/**
 * Runs `xent eval` in this process and returns what it printed and its exit code; `settings` stand
 * in for the environment (the tests vary the options, not process.env).
 */
export async function runInProcess(
  argv: string[],
  stdin?: Readable,
  settings: Partial<Settings> = {},
): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const sink = new Writable({
    write(chunk, _encoding, done) {
      stdout += chunk.toString();
      done();
    },
  });
  const line = parseCommandLine(argv, { out: (t) => (stdout += t), err: () => {} });
  if (line.command === "none" || line.command === "completion") return { code: 0, stdout };
  const writer = new Writer(sink);
  const outcome =
    line.command === "inspect"
      ? await runInspect({ ...line.args, open: { ...line.args.open, stdin } }, writer)
      : line.command === "merge"
        ? await runMerge(line.args, writer)
        : line.command === "compare"
          ? await runCompare(line.args, writer, {
              ...quietIO(),
              settings: { ...readSettings({}, false), ...settings },
            })
          : await runEval({ ...line.args, ...(stdin ? { stdin } : {}) }, writer, {
              ...quietIO(),
              settings: { ...readSettings({}, false), ...settings },
            });
  return { code: outcome === "assertion-failed" ? 1 : 0, stdout };
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON documents are checked field by field
export type Json = any;

export async function evalJson(argv: string[]): Promise<Json> {
  const { stdout } = await runInProcess(argv);
  return JSON.parse(stdout);
}

export interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns the built binary, as a user would run it. */
export function xent(
  args: string[],
  options: { input?: string; latin1?: boolean; env?: Record<string, string>; cwd?: string } = {},
): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => {}); // xent may exit before reading all of its input
    child.stdin.end(Buffer.from(options.input ?? "", options.latin1 ? "latin1" : "utf8"));
  });
}

/** |actual − expected| ≤ 1e-6·|expected| (+1e-12 for values near 0); null (non-finite) only matches null. */
export function close(actual: number | null, expected: number | null, rel = 1e-6): boolean {
  if (expected === null || actual === null) return actual === expected;
  return Math.abs(actual - expected) <= rel * Math.abs(expected) + 1e-12;
}
