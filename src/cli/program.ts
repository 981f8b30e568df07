import { Command, CommanderError } from "commander";
import { usage, XentError } from "../errors.js";
import { type CompareArgs, defineCompare } from "./commands/compare.js";
import { defineCompletion } from "./commands/completion.js";
import { defineEval, type EvalArgs, EXAMPLES } from "./commands/eval.js";
import { defineInspect, type InspectArgs } from "./commands/inspect.js";
import { defineMerge, type MergeArgs } from "./commands/merge.js";
import { version } from "./values.js";

/** What the command line asks for, parsed and checked. */
export type CommandLine =
  | { command: "eval"; args: EvalArgs }
  | { command: "completion"; shell: "bash" | "zsh" }
  | { command: "merge"; args: MergeArgs }
  | { command: "compare"; args: CompareArgs }
  | { command: "inspect"; args: InspectArgs }
  | { command: "none" };

export interface Streams {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The whole command line: the program and each command's definition (src/cli/commands/). */
export function buildProgram(streams: Streams, onCommand: (line: CommandLine) => void): Command {
  const program = new Command("xent")
    .description(
      "Cross-entropy loss and calibration metrics for model prediction files, with PyTorch's exact semantics.",
    )
    .version(version(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: streams.out, writeErr: streams.err, outputError: () => {} })
    .showHelpAfterError(false)
    .addHelpText("after", EXAMPLES);
  program.addHelpText(
    "afterAll",
    "\nExit codes: 0 success, 1 an --assert failed, 2 usage or input error, 130/143/129 interrupted (SIGINT/SIGTERM/SIGHUP).",
  );
  defineEval(program, (args) => onCommand({ command: "eval", args }));
  defineInspect(program, (args) => onCommand({ command: "inspect", args }));
  defineMerge(program, (args) => onCommand({ command: "merge", args }));
  defineCompare(program, (args) => onCommand({ command: "compare", args }));
  defineCompletion(program, (shell) => onCommand({ command: "completion", shell }));
  return program;
}

/**
 * Parses argv (without node and script). Help and version are printed here and give
 * `{command: "none"}`; every usage error, commander's own included, becomes an XentError.
 */
export function parseCommandLine(argv: readonly string[], streams: Streams): CommandLine {
  if (argv.length === 0)
    throw usage("no command given: xent eval <predictions> [targets] [options] (see xent --help)");
  let result: CommandLine = { command: "none" };
  const program = buildProgram(streams, (line) => {
    result = line;
  });
  try {
    program.parse(argv as string[], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return { command: "none" };
      throw new XentError("usage", e.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " "));
    }
    throw e;
  }
  return result;
}
