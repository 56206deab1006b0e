/**
 * The broker's own `credential.helper` value: the command configure writes,
 * and the values it takes for a broker in the user's config. Git runs a
 * value through the shell only as `!COMMAND` or when it starts with `/`;
 * any other value `V` becomes `git credential-V` (credential.c).
 */
import { statSync } from 'node:fs';
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
 * writes and a user may: plain words, single quotes, double quotes around
 * plain text, backslash escapes. Undefined for anything else (`$`, a
 * backquote or backslash inside double quotes, `;`, globs...): no broker
 * command of configure's, and not worth guessing at.
 */
function shellWords(command: string): string[] | undefined {
  const words: string[] = [];
  const pattern = /[ \t]+|[A-Za-z0-9_./:=@%+,-]+|'[^']*'|"[^"$`\\]*"|\\([^\n])/gy;
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
      word = (word ?? '') + (escaped ?? (/^['"]/.test(text) ? text.slice(1, -1) : text));
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The installed binary, or its `.cjs` bundle, by absolute path. */
const BROKER_BINARY = /^\/(?:.*\/)?git-credential-broker(?:\.cjs)?$/s;
/** The ES module build, which configure wrote before the helper was bundled. */
const OLD_MAIN = /^\/(?:.*\/)?dist\/helper\/main\.js$/s;

/** Whether what follows the binary is at most `--socket PATH`, as the broker takes it from git. */
function socketOnly(options: string[]): boolean {
  if (options.length === 0) return true;
  if (options.length === 1) return /^--socket=./s.test(options[0]!);
  return options.length === 2 && options[0] === '--socket' && options[1] !== '';
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
  return binary !== undefined && BROKER_BINARY.test(binary) && socketOnly(options);
}

/**
 * A broker entry in a form older releases of configure wrote, which git
 * does not run as the broker (or which says too little alone): `named`, a
 * path to the broker's binary quoted without the `!` (older releases
 * wrote `'/opt/my tools/…cjs'`, and git runs `git credential-'/opt/…'`,
 * which fails), or spaced and unquoted (what `helper = "/opt/my
 * tools/…cjs"` in a config file reads as: git drops those quotes, and the
 * shell splits the path); `main`, the ES module build by absolute path,
 * plain or quoted, from before the helper was bundled. Each at most with
 * `--socket PATH`. configure and --unset take these for the broker's to
 * remove; the chain git runs counts only isBrokerCommand's.
 */
function olderBrokerEntry(value: string): 'named' | 'main' | undefined {
  if (!/^['"/]/.test(value)) return undefined;
  const words = shellWords(value);
  if (words !== undefined && words.length > 0 && socketOnly(words.slice(1))) {
    if (OLD_MAIN.test(words[0]!)) return 'main';
    if (/^['"]/.test(value) && BROKER_BINARY.test(words[0]!)) return 'named';
  }
  // The last word that ends the binary's name; a space before it is in the path.
  const spaced = /^(\/.*[ \t].*\/git-credential-broker(?:\.cjs)?)(?:[ \t]+(.*))?$/s.exec(value);
  if (spaced === null || !pathAlone(spaced[1]!)) return undefined;
  const options = shellWords(spaced[2] ?? '');
  return options !== undefined && socketOnly(options) ? 'named' : undefined;
}

/**
 * Whether `text`, split by the shell at its spaces, can only be one path
 * cut up: a program with arguments (`/usr/bin/env FOO=1 /opt/bin/…`,
 * `/usr/local/bin/audit-wrap --log /tmp/x /…`) is the user's helper that
 * merely ends with the broker's path, never an older entry of ours. An
 * absolute path, an option or an assignment after the first word gives one
 * away; so does a first word that is a file, which git would run.
 */
function pathAlone(text: string): boolean {
  const [first, ...rest] = text.split(/[ \t]+/);
  if (rest.some((word) => /^[/-]|^[A-Za-z_][A-Za-z0-9_]*=/.test(word))) return false;
  return !isFile(first!);
}

/** Whether `path` is there and not a directory (a program, or the shell's to refuse). */
function isFile(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The entries configure wrote, by index: each broker command, in today's
 * form or an older release's, and the empty entry just before one (the
 * reset it writes first). A lone empty entry is the user's own reset. An
 * older release's `…/dist/helper/main.js` is taken only in that pair: its
 * name alone could be any program's.
 */
export function brokerEntries(values: string[]): Set<number> {
  const ours = new Set<number>();
  values.forEach((value, i) => {
    const afterReset = i > 0 && values[i - 1] === '';
    const older = isBrokerCommand(value) ? undefined : olderBrokerEntry(value);
    if (!isBrokerCommand(value) && older !== 'named' && !(older === 'main' && afterReset)) return;
    ours.add(i);
    if (afterReset) ours.add(i - 1);
  });
  return ours;
}
