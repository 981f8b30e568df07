import { setFlagsFromString } from "node:v8";
import { XentError } from "../errors.js";
import { BrokenPipe, Writer } from "../output/writer.js";
import { runCompare } from "./commands/compare.js";
import { completionScript } from "./commands/completion.js";
import { runEval } from "./commands/eval.js";
import { runInspect } from "./commands/inspect.js";
import { runMerge } from "./commands/merge.js";
import type { Outcome } from "./finish.js";
import { buildProgram, parseCommandLine } from "./program.js";
import { readSettings } from "./settings.js";

// Node 20's V8 can deadlock when a worker thread ends while a background (concurrent) TurboFan job
// of its isolate waits for a garbage collection: the worker waits for the job, the job for the
// worker (gdb: DrainTasks against CollectionBarrier::AwaitCollectionBackground). It hung ~4% of
// runs with worker threads here; with compilation on the worker's own thread it never did
// (0 in 150). V8 reads the flag when each worker's isolate starts.
setFlagsFromString("--no-concurrent-recompilation");

/** The contract's exit codes: 0 success, 1 an --assert failed, 2 usage or input error. */
const EXIT_OK = 0;
const EXIT_ASSERT = 1;
const EXIT_ERROR = 2;
const exitCode = (outcome: Outcome) => (outcome === "assertion-failed" ? EXIT_ASSERT : EXIT_OK);

/** 128 + the signal's number, what shells report for a program a signal stopped. */
const SIGNAL_EXITS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

const cleanups: (() => void)[] = [];

function abort(): void {
  for (const cleanup of cleanups.splice(0)) cleanup();
}

/**
 * The one place that turns outcomes into exit codes, as ripgrep's main does: errors of the input
 * or the command line print one line and give 2, a closed stdout ends quietly with 0, and
 * anything else is a bug, reported without a stack trace unless XENT_DEBUG is set.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const out = new Writer(process.stdout, 1);
  const settings = readSettings(process.env, process.stdout.isTTY === true);
  try {
    const line = parseCommandLine(argv, {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
    });
    switch (line.command) {
      case "none":
        return EXIT_OK;
      case "completion":
        await out.write(
          completionScript(
            buildProgram({ out: () => {}, err: () => {} }, () => {}),
            line.shell,
          ),
        );
        return EXIT_OK;
      case "inspect":
        return exitCode(await runInspect(line.args, out));
      case "merge":
        return exitCode(await runMerge(line.args, out, settings));
      case "compare":
        return exitCode(
          await runCompare(line.args, out, {
            stderr: process.stderr,
            onAbort: (f) => cleanups.push(f),
            settings,
          }),
        );
      default:
        return exitCode(
          await runEval(line.args, out, {
            stderr: process.stderr,
            onAbort: (f) => cleanups.push(f),
            settings,
          }),
        );
    }
  } catch (e) {
    abort();
    if (e instanceof BrokenPipe) return EXIT_OK;
    if (e instanceof XentError) {
      process.stderr.write(`xent: error: ${e.describe()}\n`);
      return EXIT_ERROR;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`xent: internal error: ${message} (please report it; XENT_DEBUG=1 shows where)\n`);
    if (settings.debug) process.stderr.write(`${(e as Error).stack}\n`);
    return EXIT_ERROR;
  }
}

// Ctrl-C, kill, a closed terminal: stop at once, without a partial document (the JSON printer
// writes only when done, takes back a half-copied one from a file, and its spool is removed
// here), with one line on stderr.
for (const [signal, code] of Object.entries(SIGNAL_EXITS)) {
  process.once(signal, () => {
    abort();
    // On a terminal, end the line the echoed ^C is on.
    const what = signal === "SIGINT" ? "interrupted" : `stopped by ${signal}`;
    process.stderr.write(`${process.stderr.isTTY && signal === "SIGINT" ? "\n" : ""}xent: ${what}\n`);
    process.exit(code);
  });
}

main(process.argv.slice(2)).then((code) => process.exit(code));
