// `meshplane completion bash|zsh`: a completion script generated from the command tree itself,
// so every command and option registered in main.ts completes, and nothing else.
import { Argument, type Command } from "commander";

interface CommandWords {
  readonly name: string;
  readonly options: readonly string[];
  /** Fixed choices of the command's arguments (e.g. proxy-config's kinds), in order. */
  readonly choices: readonly string[];
}

export function commandWords(program: Command): CommandWords[] {
  return program.commands.map((command) => ({
    name: command.name(),
    options: command.options
      .flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined))
      .concat("--help"),
    choices: command.registeredArguments.flatMap((a) => a.argChoices ?? []),
  }));
}

const quote = (words: readonly string[]) => words.join(" ");

export function bashCompletion(program: Command): string {
  const commands = commandWords(program);
  const cases = commands
    .map((c) => `    ${c.name}) words="${quote([...c.options, ...c.choices])}" ;;`)
    .join("\n");
  return `# meshplane bash completion: source <(meshplane completion bash)
_meshplane() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${quote(commands.map((c) => c.name))} --help --version" -- "$cur"))
    return
  fi
  local words=""
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _meshplane meshplane
`;
}

export function zshCompletion(program: Command): string {
  const commands = commandWords(program);
  const describe = program.commands
    .map(
      (c) =>
        `    '${c.name()}:${c.description().split(";")[0]?.replace(/'/g, "'\\''").replace(/:/g, "\\:") ?? ""}'`,
    )
    .join("\n");
  const cases = commands
    .map((c) => `      ${c.name}) compadd -- ${quote([...c.options, ...c.choices])} ;;`)
    .join("\n");
  return `#compdef meshplane
# meshplane zsh completion: source <(meshplane completion zsh)
_meshplane() {
  local -a commands
  commands=(
${describe}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "\${words[2]}" in
${cases}
  esac
  _files
}
compdef _meshplane meshplane
`;
}

export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script: source <(meshplane completion bash)")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh"]))
    .action((shell: "bash" | "zsh") => {
      process.stdout.write(shell === "bash" ? bashCompletion(program) : zshCompletion(program));
    });
}
