/**
 * `ratefetch completion bash|zsh|fish`: a completion script for the shell, made from the
 * program's own options, so it never falls behind them. Options complete after `-`, choices
 * after the options that have them (--input-format, --body-format), files elsewhere, and the
 * commands (worker, status, clean, completion) as the first word.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const COMMANDS = ['report', 'worker', 'status', 'clean', 'completion'];

interface OptionInfo {
  long: string;
  short: string | undefined;
  description: string;
  takesValue: boolean;
  choices: readonly string[] | undefined;
}

export function completionScript(shell: string, program: Command): string {
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(`completion needs a shell: bash, zsh or fish (got ${JSON.stringify(shell)}), as in 'ratefetch completion bash'.`);
  }
  const options: OptionInfo[] = program.options
    .filter((option) => option.long !== undefined)
    .map((option) => ({
      long: option.long!,
      short: option.short,
      description: option.description.replace(/\s+/g, ' '),
      takesValue: option.required || option.optional,
      choices: option.argChoices,
    }));
  if (shell === 'bash') return bash(options);
  if (shell === 'zsh') return zsh(options);
  return fish(options);
}

function bash(options: OptionInfo[]): string {
  const words = options.flatMap((option) => (option.short ? [option.short, option.long] : [option.long])).join(' ');
  const choices = options
    .filter((option) => option.choices)
    .map((option) => `    ${option.long}) COMPREPLY=($(compgen -W '${option.choices!.join(' ')}' -- "$cur")); return ;;`)
    .join('\n');
  const valued = options.filter((option) => option.takesValue && !option.choices).map((option) => option.long);
  return `# ratefetch completion for bash: source it, or save it as
# ~/.local/share/bash-completion/completions/ratefetch
_ratefetch() {
  local cur prev
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
${choices}
    completion) COMPREPLY=($(compgen -W '${SHELLS.join(' ')}' -- "$cur")); return ;;
    ${valued.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W '${words}' -- "$cur"))
  elif [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W '${COMMANDS.join(' ')}' -- "$cur") $(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _ratefetch ratefetch
`;
}

function zsh(options: OptionInfo[]): string {
  const quote = (text: string) => text.replace(/\\/g, '\\\\').replace(/'/g, "'\\''").replace(/\[/g, '\\[').replace(/\]/g, '\\]').replace(/:/g, '\\:');
  const specs = options.map((option) => {
    const value = option.takesValue ? (option.choices ? `:value:(${option.choices.join(' ')})` : ':value:_files') : '';
    const described = `[${quote(option.description)}]${value}'`;
    // A short alias: the two names in braces, outside the quotes, so zsh expands them.
    return option.short ? `    '(${option.short} ${option.long})'{${option.short},${option.long}}'${described}` : `    '${option.long}${described}`;
  });
  return `#compdef ratefetch
# ratefetch completion for zsh: save it as _ratefetch in a directory on $fpath
_ratefetch() {
  _arguments -s \\
${specs.join(' \\\n')} \\
    '1:input or command:(${COMMANDS.join(' ')})' \\
    '*:file:_files'
}
_ratefetch "$@"
`;
}

function fish(options: OptionInfo[]): string {
  const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = options.map((option) => {
    const parts = ['complete -c ratefetch', `-l ${option.long.slice(2)}`];
    if (option.short) parts.push(`-s ${option.short.slice(1)}`);
    if (option.takesValue) parts.push(option.choices ? `-x -a ${quote(option.choices.join(' '))}` : '-r -F');
    parts.push(`-d ${quote(option.description)}`);
    return parts.join(' ');
  });
  return `# ratefetch completion for fish: save it as ~/.config/fish/completions/ratefetch.fish
complete -c ratefetch -n '__fish_use_subcommand' -a ${quote(COMMANDS.join(' '))}
${lines.join('\n')}
`;
}
