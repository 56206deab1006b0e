/**
 * Option spellings yargs takes in a way no one meant, refused or read as
 * meant before it runs: `--json=yes` printed text, `--socket --json` made
 * `--json` the socket path, `--json --no-json` still printed a JSON
 * failure, and `--jsn` got no "did you mean" (all found in review).
 */
import type { Argv } from 'yargs';
import { closestWord } from '../shared/closest-word.js';
import { BrokerError } from '../shared/errors.js';
import { printable } from '../shared/printable.js';

/** Options whose value is the next word (when not --name=value), with what that value is. */
export const VALUE_OPTIONS: ReadonlyMap<string, string> = new Map([
  ['--socket', 'PATH'],
  ['--config', 'PATH'],
  ['--host', 'HOST'],
  ['--permission', 'NAME=LEVEL'],
]);

/** Options that are on or off: yargs reads any value but `true` as off. */
const BOOLEAN_OPTIONS: ReadonlySet<string> = new Set([
  'json',
  'detach',
  'global',
  'local',
  'system',
  'unset',
]);

function refuse(message: string): never {
  throw new BrokerError('BAD_REQUEST', message);
}

/** `--json=yes`, `--no-json=true`: a boolean option given a value it would silently misread. */
function refuseBooleanValue(word: string): void {
  const match = /^--(no-)?([a-z-]+)=(.*)$/s.exec(word);
  if (match === null || !BOOLEAN_OPTIONS.has(match[2]!)) return;
  const [, no, name, value] = match as unknown as [string, string | undefined, string, string];
  if (no !== undefined) {
    refuse(`--no-${name} takes no value; write --no-${name} or --${name}=false`);
  }
  if (value !== 'true' && value !== 'false') {
    refuse(
      `--${name} is on or off: write --${name}, --${name}=true or --${name}=false, not '--${name}=${printable(value, 60)}'`,
    );
  }
}

/**
 * `-json`: yargs reads it as -j -s -o -n and says "Unknown arguments: j,
 * s, o, n" (found in review); every option of this program is long.
 */
function refuseSingleDash(word: string): void {
  const match = /^-([a-z][a-z-]+)(?:=.*)?$/s.exec(word);
  if (match === null) return;
  refuse(
    `unknown option '${printable(word, 60)}' (did you mean --${match[1]}?); options take two dashes`,
  );
}

/**
 * Refuses what yargs would misread: a boolean option with a value other
 * than true or false, and a value option followed by a word that looks
 * like an option (`--socket --json` is --socket without its value).
 */
export function refuseOptionSpellings(argv: string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    refuseBooleanValue(word);
    refuseSingleDash(word);
    const placeholder = VALUE_OPTIONS.get(word);
    if (placeholder === undefined) continue;
    const next = argv[i + 1];
    if (next?.startsWith('-')) {
      refuse(
        `${word} needs a value, and '${printable(next, 100)}' after it looks like an option; if the value really starts with '-', write ${word}=${placeholder}`,
      );
    }
    i++;
  }
}

/**
 * Whether the command line asks for JSON: the last of --json,
 * --json=true, --no-json and --json=false wins, as it does for yargs.
 */
export function jsonWanted(argv: string[]): boolean {
  let wanted = false;
  for (const word of argv) {
    if (word === '--json' || word === '--json=true') wanted = true;
    else if (word === '--no-json' || word === '--json=false') wanted = false;
  }
  return wanted;
}

/**
 * yargs' "Unknown argument: jsn" with what was likely meant among the
 * options the command takes (`known`, without dashes): ` (did you mean
 * --json?)`, or '' when nothing is that close. `argv` tells `--no-jsn` from `--jsn`.
 */
export function unknownOptionHint(
  message: string,
  known: readonly string[],
  argv: readonly string[],
): string {
  const words = /^Unknown arguments?: (.+)$/.exec(message)?.[1]?.split(', ') ?? [];
  const guesses = words.flatMap((word) => {
    const meant = closestWord(word, known);
    // yargs names `--no-jsn` as `jsn`: the guess keeps the `no-` typed.
    const negated = argv.some(
      (typed) => typed === `--no-${word}` || typed.startsWith(`--no-${word}=`),
    );
    return meant === undefined ? [] : [`--${negated ? 'no-' : ''}${meant}`];
  });
  return guesses.length === 0 ? '' : ` (did you mean ${guesses.join(', ')}?)`;
}

/**
 * The options of the command yargs was reading, for a "did you mean".
 * getOptions() is yargs' own but missing from @types/yargs; without it
 * there is no guess, and the refusal is the same.
 */
export function knownOptions(parser: Argv): string[] {
  const withOptions = parser as unknown as { getOptions?: () => { key?: object } };
  return Object.keys(withOptions.getOptions?.().key ?? {});
}
