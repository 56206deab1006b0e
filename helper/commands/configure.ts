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

function git(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { env }, (error, _stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stderr: stderr.trim() });
    });
  });
}

/** The credential context URL for a `--host` value. */
export function contextUrl(host: string): string {
  const match = /^(https?):\/\/([^/]+)\/?$/.exec(host);
  if (match) return `${match[1]}://${match[2]!.toLowerCase()}`;
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

export async function configureGit(options: ConfigureOptions): Promise<string[]> {
  const env = options.env ?? process.env;
  const url = contextUrl(options.host);
  const scope = `--${options.scope}`;
  const helperKey = `credential.${url}.helper`;
  const pathKey = `credential.${url}.useHttpPath`;

  const run = async (args: string[], allowMissing = false): Promise<void> => {
    const result = await git(['config', scope, ...args], env);
    // Exit 5: the key to unset was not there, which is what we wanted.
    if (result.code === 0 || (allowMissing && result.code === 5)) return;
    throw new BrokerError(
      'CONFIG',
      `git config ${scope} ${args.join(' ')} failed: ${result.stderr || `exit ${result.code}`}`,
    );
  };

  await run(['--unset-all', helperKey], true);
  if (options.unset) {
    await run(['--unset-all', pathKey], true);
    return [`removed ${helperKey} and ${pathKey} (${scope})`];
  }
  const command = helperCommand(options.socket);
  await run(['--add', helperKey, '']);
  await run(['--add', helperKey, command]);
  await run([pathKey, 'true']);
  return [
    `${helperKey} = (empty: resets the helper chain for ${url})`,
    `${helperKey} = ${command}`,
    `${pathKey} = true`,
  ];
}
