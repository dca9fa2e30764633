// `entitlegate completion bash|zsh|fish`: completion scripts generated from
// the one table of commands and flags (cli/help.ts), so they never fall
// behind a new flag.
import { COMMANDS, type CommandHelp, type Flag } from './help.ts';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const names = COMMANDS.map((c) => c.name);
const flagWords = (c: CommandHelp) => c.flags.flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]);
// Single-quoted for every shell we write: a ' inside becomes '\'' (sh) or \' (fish).
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const fishq = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function bash(): string {
  const perCommand = COMMANDS.map((c) => {
    const valued = c.flags.filter((f) => f.value);
    const cases = valued.map((f) => {
      const pat = [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])].join('|');
      const reply = f.choices
        ? `COMPREPLY=($(compgen -W ${sq(f.choices.join(' '))} -- "$cur"))`
        : f.file
          ? 'COMPREPLY=($(compgen -f -- "$cur"))'
          : 'COMPREPLY=()';
      return `        ${pat}) ${reply}; return ;;`;
    });
    const positional = c.subcommands
      ? `if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=($(compgen -W ${sq(c.subcommands.join(' '))} -- "$cur")); return; fi\n      `
      : '';
    const rest = c.fileArgs ? 'COMPREPLY=($(compgen -f -- "$cur"))' : 'COMPREPLY=()';
    return `    ${c.name})
      case "$prev" in
${cases.join('\n')}
      esac
      ${positional}if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W ${sq(flagWords(c).join(' '))} -- "$cur")); else ${rest}; fi ;;`;
  });
  return `# bash completion for entitlegate (entitlegate completion bash)
_entitlegate() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${sq(`${names.join(' ')} --help --version`)} -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${perCommand.join('\n')}
  esac
}
complete -o filenames -F _entitlegate entitlegate
`;
}

function zshSpec(f: Flag): string[] {
  const desc = f.help.replace(/[[\]:\\]/g, '\\$&');
  const action = f.value
    ? f.choices
      ? `:${f.value.toLowerCase()}:(${f.choices.join(' ')})`
      : f.file
        ? `:${f.value.toLowerCase()}:_files`
        : `:${f.value.toLowerCase()}:`
    : '';
  const rep = f.multiple ? '*' : '';
  const long = `${rep}--${f.name}[${desc}]${action}`;
  return f.short ? [`${rep}-${f.short}[${desc}]${action}`, long] : [long];
}

function zsh(): string {
  const cases = COMMANDS.map((c) => {
    const specs = c.flags.flatMap(zshSpec).map((s) => `        ${sq(s)}`);
    if (c.subcommands) specs.push(`        ${sq(`1:${c.name === 'completion' ? 'shell' : 'action'}:(${c.subcommands.join(' ')})`)}`);
    if (c.fileArgs) specs.push(`        '*:path:_files'`);
    return `    ${c.name})\n      _arguments \\\n${specs.join(' \\\n')} ;;`;
  });
  const list = COMMANDS.map((c) => `    ${sq(`${c.name}:${c.summary.replace(/:/g, '\\:')}`)}`).join('\n');
  return `#compdef entitlegate
# zsh completion for entitlegate (entitlegate completion zsh > "\${fpath[1]}/_entitlegate")
_entitlegate() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'entitlegate command' commands
    _arguments '--help[show help]' '--version[show the version]'
    return
  fi
  local cmd=\${words[2]}
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join('\n')}
  esac
}
if [ "$funcstack[1]" = "_entitlegate" ]; then _entitlegate "$@"; else compdef _entitlegate entitlegate; fi
`;
}

function fish(): string {
  const lines = [
    '# fish completion for entitlegate (entitlegate completion fish > ~/.config/fish/completions/entitlegate.fish)',
    'complete -c entitlegate -f',
    `complete -c entitlegate -n __fish_use_subcommand -l help -d ${fishq('show help')}`,
    `complete -c entitlegate -n __fish_use_subcommand -l version -d ${fishq('show the version')}`,
  ];
  for (const c of COMMANDS) {
    lines.push(`complete -c entitlegate -n __fish_use_subcommand -a ${c.name} -d ${fishq(c.summary)}`);
    const when = `'__fish_seen_subcommand_from ${c.name}'`;
    if (c.subcommands) lines.push(`complete -c entitlegate -n ${when} -a ${fishq(c.subcommands.join(' '))}`);
    if (c.fileArgs) lines.push(`complete -c entitlegate -n ${when} -F`);
    for (const f of c.flags) {
      const parts = [`complete -c entitlegate -n ${when} -l ${f.name}`];
      if (f.short) parts.push(`-s ${f.short}`);
      if (f.value) parts.push(f.choices ? `-x -a ${fishq(f.choices.join(' '))}` : f.file ? '-r -F' : '-x');
      parts.push(`-d ${fishq(f.help)}`);
      lines.push(parts.join(' '));
    }
  }
  return lines.join('\n') + '\n';
}

export function completionScript(shell: Shell): string {
  return shell === 'bash' ? bash() : shell === 'zsh' ? zsh() : fish();
}
