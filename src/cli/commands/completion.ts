/** `xent completion bash|zsh`: a completion script made from the command definitions. */
import { Argument, type Command } from "commander";

/** The flags of a command and the values of those that take a fixed set. */
function describe(command: Command): { flags: string[]; choices: Map<string, string[]> } {
  const flags: string[] = ["--help"];
  const choices = new Map<string, string[]>();
  for (const option of command.options) {
    for (const flag of [option.short, option.long]) if (flag) flags.push(flag);
    if (option.argChoices && option.long) choices.set(option.long, option.argChoices);
  }
  return { flags, choices };
}

/**
 * A completion script for bash or zsh (zsh through bashcompinit), made from the command
 * definitions themselves so that it cannot fall behind them. Install with
 * `eval "$(xent completion bash)"` in ~/.bashrc (or `zsh` in ~/.zshrc).
 */
export function completionScript(program: Command, shell: "bash" | "zsh"): string {
  const commands = program.commands.map((c) => c.name());
  // Per command: its flags, and for flags with a fixed set of values, those values.
  const cases = program.commands.map((command) => {
    const { flags, choices } = describe(command);
    const values = [...choices].map(
      ([flag, v]) => `        ${flag}) COMPREPLY=( $(compgen -W "${v.join(" ")}" -- "$cur") ); return ;;`,
    );
    const args = command.registeredArguments.flatMap((a) => a.argChoices ?? []);
    return [
      `    ${command.name()})`,
      `      opts="${flags.join(" ")}"`,
      args.length > 0
        ? `      if [[ "$cur" != -* ]]; then COMPREPLY=( $(compgen -W "${args.join(" ")}" -- "$cur") ); return; fi`
        : "",
      values.length > 0 ? `      case "$prev" in\n${values.join("\n")}\n      esac` : "",
      "      ;;",
    ]
      .filter(Boolean)
      .join("\n");
  });
  const body = `_xent() {
  local cur prev opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "${commands.join(" ")} --help --version" -- "$cur") )
    return
  fi
  opts="--help"
  case "\${COMP_WORDS[1]}" in
${cases.join("\n")}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _xent xent
`;
  const head =
    shell === "zsh"
      ? `#compdef xent\n# xent completion for zsh: eval "$(xent completion zsh)" in ~/.zshrc\nautoload -U +X bashcompinit && bashcompinit\n`
      : `# xent completion for bash: eval "$(xent completion bash)" in ~/.bashrc\n`;
  return head + body;
}

/** Adds `xent completion` to the program. */
export function defineCompletion(program: Command, onShell: (shell: "bash" | "zsh") => void): void {
  program
    .command("completion")
    .description('print a shell completion script: eval "$(xent completion bash)"')
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]))
    .action((shell: "bash" | "zsh") => onShell(shell));
}
