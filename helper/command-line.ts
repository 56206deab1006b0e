/**
 * The words of a command line before yargs reads them: where the command
 * is, and the mistakes refused in our words rather than yargs' own.
 */
import { closestWord } from '../shared/closest-word.js';
import { BrokerError } from '../shared/errors.js';
import { printable } from '../shared/printable.js';
import { COMMAND_NAMES, COMMAND_WORD_LIST, COMMAND_WORDS } from './command-names.js';
import { PROGRAM } from './git-actions.js';
import { VALUE_OPTIONS } from './option-spelling.js';

/** Our commands, without yargs' `help`. */
export const COMMANDS: ReadonlySet<string> = new Set(COMMAND_NAMES);

/** Where the command word is: the first word that is neither an option nor an option's value; -1 when none. */
function commandIndex(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (VALUE_OPTIONS.has(word)) i++;
    else if (!word.startsWith('-')) return i;
  }
  return -1;
}

/** The command a command line names. */
export function commandWord(argv: string[]): string | undefined {
  return argv[commandIndex(argv)];
}

/**
 * The command line with its command word first: `--json status` is
 * `status --json`. yargs reads an option before the command with the
 * top-level options only, where --json is unknown and took `status` for
 * its value (found in review: "name a command", and with --json a JSON
 * report of running: false while a daemon ran). Moved, every option means
 * the same before or after the command, and one the command does not take
 * is refused by name, as after it. Only one of our commands is moved.
 */
export function commandFirst(argv: string[]): string[] {
  const at = commandIndex(argv);
  if (at <= 0 || !COMMANDS.has(argv[at]!)) return argv;
  return [argv[at]!, ...argv.slice(0, at), ...argv.slice(at + 1)];
}

/**
 * Refuses a command line that names no command we have, in our words:
 * yargs said "Did you mean status?" and nothing of the word typed, or
 * "Unknown argument: frob". Exit 2. A command line with one of our
 * commands in it is left to yargs, which names the stray word. An action
 * of a later git, on a pipe, never reaches this (git-invocation.ts ignores it).
 */
export function refuseUnknownCommand(argv: string[]): void {
  const word = commandWord(argv);
  if (word === undefined || COMMAND_WORDS.has(word)) return;
  if (argv.some((other) => COMMAND_WORDS.has(other))) return;
  const suggestion = closestWord(word, COMMAND_WORD_LIST);
  const help = `${PROGRAM} --help for the commands`;
  throw new BrokerError(
    'BAD_REQUEST',
    suggestion === undefined
      ? `unknown command '${printable(word, 100)}'; run ${help}`
      : `unknown command '${printable(word, 100)}'; did you mean '${suggestion}'? Run ${help}`,
  );
}

/** The help that explains a mistake: the command's own, when one was named. */
export function helpFor(argv: string[]): string {
  const word = commandWord(argv);
  return word !== undefined && COMMANDS.has(word)
    ? `${PROGRAM} ${word} --help`
    : `${PROGRAM} --help`;
}

/** What each command's positional argument is, for a command line without it. */
const POSITIONALS: Record<string, string> = {
  token: 'a repository: owner/repo or a clone URL, for example token acme/widgets',
};

/**
 * A command-line mistake as yargs words it, or in our words where its own
 * are unclear: an option given last, without its value, would otherwise
 * read "Not enough arguments following: host", and `token` alone "Not
 * enough non-option arguments: got 0, need at least 1".
 */
export function mistake(message: string, command?: string): string {
  const positional = command === undefined ? undefined : POSITIONALS[command];
  if (positional !== undefined && /^Not enough non-option arguments/.test(message)) {
    return `${command} needs ${positional}`;
  }
  const option = /^Not enough arguments following: (\S+)$/.exec(message)?.[1];
  return option === undefined ? message : `--${option} needs a value, and none followed it`;
}
