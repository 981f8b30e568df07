/**
 * The colour level for a stream: FORCE_COLOR wins (0 or false turns colour off, 2 and 3 pick
 * 256 colours and truecolor, anything else basic colours); then NO_COLOR, when set and non-empty,
 * turns it off (chalk itself ignores NO_COLOR on a terminal, so xent sets the level); otherwise
 * colour only on a terminal.
 */
export function colourLevel(env: NodeJS.ProcessEnv, isTTY: boolean): 0 | 1 | 2 | 3 {
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === "0" || force.toLowerCase() === "false") return 0;
    if (force === "2") return 2;
    if (force === "3") return 3;
    return 1;
  }
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return 0;
  return isTTY ? 1 : 0;
}

/** What the table printer colours; with level 0 every function returns its text unchanged. */
export interface Style {
  heading(text: string): string;
  value(text: string): string;
  dim(text: string): string;
  pass(text: string): string;
  fail(text: string): string;
  warn(text: string): string;
}

const plain = (t: string) => t;
const PLAIN: Style = { heading: plain, value: plain, dim: plain, pass: plain, fail: plain, warn: plain };

/** chalk is loaded only when there is colour to make (it costs 20 ms at start-up). */
export async function makeStyle(level: 0 | 1 | 2 | 3): Promise<Style> {
  if (level === 0) return PLAIN;
  const { Chalk } = await import("chalk");
  const c = new Chalk({ level });
  return {
    heading: (t) => c.bold(t),
    value: (t) => c.bold(t),
    dim: (t) => c.dim(t),
    pass: (t) => c.green(t),
    fail: (t) => c.red.bold(t),
    warn: (t) => c.yellow(t),
  };
}

/** Visible width of a string that may hold ANSI escapes. */
export function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
  return text.replace(/\x1b\[[0-9;]*m/g, "").length;
}
