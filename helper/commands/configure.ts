/**
 * `configure`: points git at the broker for one host. Resets the host's
 * helper chain first (an empty `helper =`), so no storing helper configured
 * elsewhere keeps the broker's tokens, and turns on useHttpPath so git sends
 * the repository. Running it twice leaves the same config.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BrokerError } from '../../shared/errors.js';

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

/** A git config value matched exactly, as a value pattern. */
function exactly(value: string): string {
  return `^${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}

/** Whether a helper entry is the broker's: the reset entry or a broker command. */
function isBrokers(value: string): boolean {
  return (
    value === '' ||
    /(^|\/)git-credential-broker(\.cjs)?('|\s|$)/.test(value) ||
    // What configure wrote before the helper was bundled.
    /\/dist\/helper\/main\.js('|\s|$)/.test(value)
  );
}

/** The first word of a helper entry: its name, without arguments that may hold secrets. */
function helperName(value: string): string {
  return value.trim().split(/\s+/)[0] ?? '';
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
      `cannot change ${key} in git's ${options.scope} config: ${result.stderr || `git config exited with ${result.code}`}`,
    );
  };

  const existing = (await run(['--get-all', helperKey], true)).split('\n').slice(0, -1);
  const others = existing.filter((value) => !isBrokers(value));
  const ours = existing.filter(isBrokers);
  const hadPath = (await run(['--get', pathKey], true)) !== '';

  if (options.unset) {
    // Only the broker's entries: another helper the user added stays.
    for (const value of new Set(ours)) await run(['--unset-all', helperKey, exactly(value)], true);
    if (hadPath) await run(['--unset-all', pathKey], true);
    if (ours.length === 0 && !hadPath) {
      return [`nothing to remove: no broker settings for ${url} (${scope})`];
    }
    return [
      `removed the broker's ${helperKey} entries${hadPath ? ` and ${pathKey}` : ''} (${scope})`,
      ...(others.length > 0
        ? [`kept ${helperKey} = ${others.map(helperName).join(', ')} (not the broker's)`]
        : []),
    ];
  }
  await run(['--unset-all', helperKey], true);
  const command = helperCommand(options.socket);
  await run(['--add', helperKey, '']);
  await run(['--add', helperKey, command]);
  await run([pathKey, 'true']);
  return [
    ...(others.length > 0
      ? [
          `replaced ${helperKey} = ${others.map(helperName).join(', ')}: a helper that stores credentials would keep the broker's tokens (add it back after 'configure --unset' if you want it)`,
        ]
      : []),
    `${helperKey} = (empty: resets the helper chain for ${url})`,
    `${helperKey} = ${command}`,
    `${pathKey} = true`,
  ];
}
