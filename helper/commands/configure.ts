/**
 * `configure`: points git at the broker for one host. Resets the host's
 * helper chain first (an empty `helper =`), so no storing helper configured
 * elsewhere keeps the broker's tokens, and turns on useHttpPath so git sends
 * the repository. Running it twice leaves the same config.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BrokerError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';

export type GitConfigScope = 'global' | 'local' | 'system';

export interface ConfigureOptions {
  scope: GitConfigScope;
  /** `github.com`, or a URL whose scheme and host are kept (`http://127.0.0.1:8080`). */
  host: string;
  unset: boolean;
  socket?: string;
  env?: NodeJS.ProcessEnv;
}

function git(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr.trim() });
    });
  });
}

/** The credential context URL for a `--host` value. */
export function contextUrl(host: string): string {
  const match = /^(https?):\/\/([^/]+)(\/.*)?$/.exec(host);
  if (match) {
    if (match[3] !== undefined && match[3] !== '/') {
      throw new BrokerError(
        'BAD_REQUEST',
        `'${host}' has a path; --host takes a host name or a URL without a path, for example --host ${match[1]}://${match[2]}`,
      );
    }
    return `${match[1]}://${match[2]!.toLowerCase()}`;
  }
  if (!/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(host)) {
    throw new BrokerError(
      'BAD_REQUEST',
      `'${host}' is not a host name; use for example --host github.com`,
    );
  }
  return `https://${host.toLowerCase()}`;
}

/** Quotes a word for the shell git runs helpers through. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The helper command git should run: this program's installed binary (the
 * fast bundle beside this build), by absolute path.
 */
export function helperCommand(socket: string | undefined): string {
  const main = fileURLToPath(new URL('../git-credential-broker.cjs', import.meta.url));
  const words = [main, ...(socket === undefined ? [] : ['--socket', socket])];
  return words.map(shellQuote).join(' ');
}

/** One shell word as shellQuote writes it: plain, or in single quotes. */
const SHELL_WORD = String.raw`(?:[A-Za-z0-9_./:=@%+-]+|'(?:[^']|'\\'')*')`;
/**
 * A broker command as configure writes it: the binary by absolute path
 * (or, from before the helper was bundled, dist/helper/main.js), then at
 * most `--socket PATH`. Nothing looser: a helper of the user's that merely
 * mentions such a path is theirs.
 */
const BROKER_COMMAND = new RegExp(
  String.raw`^(?:'(?:[^']*/)?|(?:[^'\s]*/)?)` +
    String.raw`(?:git-credential-broker(?:\.cjs)?|dist/helper/main\.js)'?` +
    String.raw`(?: --socket(?:=| )${SHELL_WORD})?$`,
);

function isBrokerCommand(value: string): boolean {
  return BROKER_COMMAND.test(value);
}

/**
 * The entries configure wrote: each broker command, and the empty entry
 * just before one (the reset it writes first). A lone empty entry is the
 * user's own reset, and stays.
 */
function brokerEntries(values: string[]): Set<number> {
  const ours = new Set<number>();
  values.forEach((value, i) => {
    if (!isBrokerCommand(value)) return;
    ours.add(i);
    if (i > 0 && values[i - 1] === '') ours.add(i - 1);
  });
  return ours;
}

/**
 * How a helper of the user's is named in output: its name at most, never
 * its arguments or a shell command's text, either of which may hold a
 * secret (`!GH_TOKEN=... gh auth git-credential`).
 */
function describeHelper(value: string): string {
  if (value.trimStart().startsWith('!')) return 'a shell command (!...)';
  const name = value.trim().split(/\s+/)[0] ?? '';
  return /^[A-Za-z0-9._/-]{1,80}$/.test(name) ? `'${name}'` : 'a helper';
}

export async function configureGit(options: ConfigureOptions): Promise<string[]> {
  const env = options.env ?? process.env;
  const url = contextUrl(options.host);
  const scope = `--${options.scope}`;
  const helperKey = `credential.${url}.helper`;
  const pathKey = `credential.${url}.useHttpPath`;

  const run = async (args: string[], allowMissing = false): Promise<string> => {
    const result = await git(['config', scope, ...args], env);
    // Exit 1 for a get, 5 for an unset: the key was not there, as may be.
    if (result.code === 0 || (allowMissing && (result.code === 1 || result.code === 5))) {
      return result.stdout;
    }
    if (/can only be used inside a git repository/.test(result.stderr)) {
      throw new BrokerError(
        'CONFIG',
        `${scope} needs a git repository: run configure inside one, or use --global`,
      );
    }
    const key = args.find((arg) => arg.startsWith('credential.')) ?? helperKey;
    throw new BrokerError(
      'CONFIG',
      `cannot change ${key} in git's ${options.scope} config: ${printable(result.stderr, 500) || `git config exited with ${result.code}`}`,
    );
  };

  // NUL-separated: a helper value may itself hold newlines.
  const values = (await run(['-z', '--get-all', helperKey], true)).split('\0').slice(0, -1);
  const ours = brokerEntries(values);
  const theirs = values.filter((value, i) => !ours.has(i) && value !== '');
  const theirNames = [...new Set(theirs.map(describeHelper))].join(', ');

  if (options.unset) {
    if (ours.size === 0) {
      return [`nothing to remove: no broker settings for ${url} (${scope})`];
    }
    // Rewrite the list without the broker's entries, the user's in order.
    await run(['--unset-all', helperKey], true);
    for (const [i, value] of values.entries()) {
      if (!ours.has(i)) await run(['--add', helperKey, value]);
    }
    // configure turned it on; a user who wants it can turn it on again.
    await run(['--unset-all', pathKey], true);
    return [
      `removed the broker's ${helperKey} entries and ${pathKey} (${scope})`,
      ...(theirs.length > 0 ? [`kept ${helperKey}: ${theirNames} (not the broker's)`] : []),
    ];
  }
  await run(['--unset-all', helperKey], true);
  const command = helperCommand(options.socket);
  await run(['--add', helperKey, '']);
  await run(['--add', helperKey, command]);
  await run([pathKey, 'true']);
  return [
    ...(theirs.length > 0
      ? [
          `replaced ${helperKey}: ${theirNames}; a helper that stores credentials would keep the broker's tokens (add it back after 'configure --unset' if you want it)`,
        ]
      : []),
    `${helperKey} = (empty: resets the helper chain for ${url})`,
    `${helperKey} = ${command}`,
    `${pathKey} = true`,
  ];
}
