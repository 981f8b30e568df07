import { XentError } from "../errors.js";
import { BrokenPipe, Writer } from "../output/writer.js";
import { runInspect } from "./inspect.js";
import { parseCommandLine } from "./options.js";
import { EXIT_ERROR, EXIT_OK, runEval } from "./run.js";

/**
 * The one place that turns outcomes into exit codes, as ripgrep's main does: errors of the input
 * or the command line print one line and give 2, a closed stdout ends quietly with 0, and
 * anything else is a bug, reported without a stack trace unless XENT_DEBUG is set.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const out = new Writer(process.stdout);
  try {
    const line = parseCommandLine(argv, {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
    });
    if (line.command === "none") return EXIT_OK;
    if (line.command === "inspect") return await runInspect(line.args, out);
    return await runEval(line.args, out);
  } catch (e) {
    if (e instanceof BrokenPipe) return EXIT_OK;
    if (e instanceof XentError) {
      process.stderr.write(`xent: error: ${e.describe()}\n`);
      return EXIT_ERROR;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`xent: internal error: ${message} (please report it; XENT_DEBUG=1 shows where)\n`);
    if (process.env.XENT_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return EXIT_ERROR;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
