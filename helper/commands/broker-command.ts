/**
 * The broker's own `credential.helper` value: the command configure writes,
 * and the values it takes for a broker in the user's config. Git runs a
 * value through the shell only as `!COMMAND` or when it starts with `/`;
 * any other value `V` becomes `git credential-V` (credential.c).
 */
import { fileURLToPath } from 'node:url';
import { shellQuote } from '../../shared/printable.js';

/** This program's installed binary: the fast bundle beside this build. */
const BINARY = fileURLToPath(new URL('../git-credential-broker.cjs', import.meta.url));

/**
 * The helper command git should run: the binary by absolute path, then
 * `--socket PATH` when given. A binary whose path needs quoting (a space)
 * is written as a shell command, `!'/opt/my tools/…cjs'`: quoted without
 * the `!`, it no longer starts with `/`, and git would run
 * `git credential-'/opt/…'`.
 */
export function helperCommand(socket: string | undefined, binary = BINARY): string {
  const words = [binary, ...(socket === undefined ? [] : ['--socket', socket])];
  const command = words.map(shellQuote).join(' ');
  return shellQuote(binary) === binary ? command : `!${command}`;
}

/**
 * A command's words as a POSIX shell reads them, for the quoting configure
 * writes and a user may: plain words, single quotes, backslash escapes.
 * Undefined for anything else (double quotes, `$`, `;`, globs...): no
 * broker command of configure's, and not worth guessing at.
 */
function shellWords(command: string): string[] | undefined {
  const words: string[] = [];
  const pattern = /[ \t]+|[A-Za-z0-9_./:=@%+,-]+|'[^']*'|\\([^\n])/gy;
  let word: string | undefined;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < command.length) {
    match = pattern.exec(command);
    if (match === null) return undefined;
    const [text, escaped] = match;
    if (/^[ \t]/.test(text)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + (escaped ?? (text.startsWith("'") ? text.slice(1, -1) : text));
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * Whether git runs `value` as a broker: an absolute path to a binary named
 * git-credential-broker (or its `.cjs` bundle), unquoted up to its first
 * character, or in a `!` shell command, then at most `--socket PATH`.
 * Nothing looser: a helper of the user's that merely mentions such a path is
 * theirs. Not `broker` nor `!git-credential-broker` either: git finds those
 * on the PATH of whatever runs it, which may hold another program or none.
 */
export function isBrokerCommand(value: string): boolean {
  const shell = value.startsWith('!');
  if (!shell && !value.startsWith('/')) return false;
  const words = shellWords(shell ? value.slice(1).trimStart() : value);
  if (words === undefined) return false;

  const [binary, ...options] = words;
  if (binary === undefined || !/^\/(?:.*\/)?git-credential-broker(?:\.cjs)?$/s.test(binary)) {
    return false;
  }
  if (options.length === 0) return true;
  if (options.length === 1) return /^--socket=./s.test(options[0]!);
  return options.length === 2 && options[0] === '--socket' && options[1] !== '';
}

/**
 * The entries configure wrote, by index: each broker command, and the empty
 * entry just before one (the reset it writes first). A lone empty entry is
 * the user's own reset.
 */
export function brokerEntries(values: string[]): Set<number> {
  const ours = new Set<number>();
  values.forEach((value, i) => {
    if (!isBrokerCommand(value)) return;
    ours.add(i);
    if (i > 0 && values[i - 1] === '') ours.add(i - 1);
  });
  return ours;
}
