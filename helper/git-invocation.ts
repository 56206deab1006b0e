/**
 * The helper as git runs it: `[--socket PATH] get|store|erase`, with git's
 * credential lines on stdin. This is everything the fast entry point
 * (bin.ts) loads, so it imports only node built-ins, shared/ and the
 * helper's git path; yargs and the daemon stay out of it.
 */
import { fstatSync, readSync } from 'node:fs';
import { closestWord } from '../shared/closest-word.js';
import { BadRequestError, toBrokerError } from '../shared/errors.js';
import { resolveSocketPath } from '../shared/paths.js';
import { printable } from '../shared/printable.js';
import { COMMAND_WORD_LIST, COMMAND_WORDS } from './command-names.js';
import { exitCodeOf, runGitAction, PROGRAM, type GitAction } from './git-actions.js';

const GIT_ACTIONS: ReadonlySet<string> = new Set(['get', 'store', 'erase']);

export type GitInvocation =
  | { action: GitAction; socket?: string }
  /** An action git added after this release (`word`): helpers are to ignore it. */
  | { action: 'ignore'; word: string };

/**
 * Whether stdin is what git gives a helper: a pipe (or a socket, as some
 * programs that run git's helpers use). A terminal, a file or /dev/null is
 * a person or a script, never git.
 */
export function stdinIsFromGit(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    // No stdin at all (closed): git always gives one.
    return false;
  }
}

/**
 * Whether `word`, the one word git appended to the helper command, is an
 * action of a later git. gitcredentials(7): "If a helper receives any other
 * operation, it should silently ignore the request. This leaves room for
 * future operations to be added". Git names its actions with lowercase
 * words and always gives the helper a pipe on stdin; and no git action will
 * be a slip away from one of our commands. Anything else is a person's or a
 * script's mistyped command, which cli.ts refuses with a suggestion.
 */
function isLaterGitAction(word: string, fromGit: () => boolean): boolean {
  return (
    /^[a-z]+(?:-[a-z]+)*$/.test(word) &&
    !COMMAND_WORDS.has(word) &&
    closestWord(word, COMMAND_WORD_LIST) === undefined &&
    fromGit()
  );
}

/**
 * Git appends the action to the configured helper command, so options the
 * user wrote in `credential.helper` come first: `--socket PATH get`. People
 * trying the helper by hand also write `get --socket PATH`: both are taken.
 * An action of a later git, in the form git gives it (`[--socket PATH]
 * ACTION`), is to be ignored. Anything else is not a git invocation:
 * undefined (the command line then refuses it with a reason).
 */
export function parseGitInvocation(
  argv: string[],
  fromGit: () => boolean = stdinIsFromGit,
): GitInvocation | undefined {
  let action: GitAction | undefined;
  let socket: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (GIT_ACTIONS.has(word)) {
      if (action !== undefined) return undefined;
      action = word as GitAction;
    } else if (i === argv.length - 1 && action === undefined && isLaterGitAction(word, fromGit)) {
      return { action: 'ignore', word };
    } else if (word.startsWith('--socket=')) {
      if (socket !== undefined) return undefined;
      socket = word.slice('--socket='.length);
    } else if (word === '--socket' && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) {
      // A next word like an option (`--socket --x get`) is no path, as
      // cli.ts reads it (option-spelling.ts): it refuses with the advice.
      if (socket !== undefined) return undefined;
      socket = argv[++i]!;
    } else {
      return undefined;
    }
  }
  if (action === undefined) return undefined;
  return socket === undefined ? { action } : { action, socket };
}

/**
 * Git's input: a few short lines. Reading stops past MAX_INPUT_BYTES, so a
 * runaway writer cannot make the helper buffer without bound.
 */
const MAX_INPUT_BYTES = 256 * 1024;

function readInput(): string {
  const buffer = Buffer.alloc(MAX_INPUT_BYTES + 1);
  let length = 0;
  while (length < buffer.length) {
    let read: number;
    try {
      read = readSync(0, buffer, length, buffer.length - length, null);
    } catch (error) {
      // A non-blocking stdin with nothing yet: wait a moment, do not spin.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if ((error as NodeJS.ErrnoException).code === 'EOF') break;
      throw error;
    }
    if (read === 0) break;
    length += read;
  }
  if (length > MAX_INPUT_BYTES) {
    throw new BadRequestError(`git sent more than ${MAX_INPUT_BYTES} bytes of input`);
  }
  return buffer.subarray(0, length).toString('utf8');
}

/** Runs what git asked for; resolves with the exit code. */
export async function runGitInvocation(invocation: GitInvocation): Promise<number> {
  // Not even its input is read: git ignores SIGPIPE while writing it. Git
  // shows a helper's stderr and parses none of it, so the line costs git
  // nothing, and tells a script that hit this path by mistake.
  if (invocation.action === 'ignore') {
    process.stderr.write(
      `${PROGRAM}: ignoring unknown action '${printable(invocation.word, 100)}' (a later git's?); run ${PROGRAM} --help for the commands\n`,
    );
    return 0;
  }
  let socketPath: string;
  try {
    socketPath = resolveSocketPath(process.env, invocation.socket);
  } catch (error) {
    // A mistake in the helper's own command line: git should stop, not prompt.
    process.stderr.write(`${PROGRAM}: ${printable((error as Error).message, 2000)}\n`);
    if (invocation.action === 'get') process.stdout.write('quit=1\n');
    return exitCodeOf(toBrokerError(error, 'helper'));
  }
  let input = '';
  try {
    if (invocation.action !== 'store') input = readInput();
  } catch (error) {
    process.stderr.write(`${PROGRAM}: ${printable((error as Error).message, 2000)}\n`);
    if (invocation.action === 'get') process.stdout.write('quit=1\n');
    return exitCodeOf(toBrokerError(error, 'helper'));
  }
  return runGitAction(invocation.action, {
    input,
    socketPath,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
