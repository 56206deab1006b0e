/**
 * The git config configure edits and reads, always through `git config`,
 * so git's own rules apply: where a scope's file is (GIT_CONFIG_GLOBAL,
 * ~/.gitconfig or $XDG_CONFIG_HOME/git/config, ...), how it is written, and
 * which files git reads in the directory configure runs in.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { BrokerError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { parseConfigEntries, type ConfigEntry } from './helper-chain.js';

export type GitConfigScope = 'global' | 'local' | 'system';

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

function git(args: string[], env: NodeJS.ProcessEnv, cwd: string | undefined): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile('git', args, { env, cwd }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr.trim() });
    });
  });
}

/** A git config value matched exactly, as a value pattern. */
export function exactly(value: string): string {
  return `^${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}

/**
 * Every credential key: helper and useHttpPath decide which helpers git
 * runs and whether it sends the path, and git stops at any without a value.
 */
const CREDENTIAL_KEYS = String.raw`^credential\.`;

/**
 * Every `credential.*` entry git reads where configure runs, in git's order
 * (not only one scope's, and not only one key: a generic
 * `credential.helper`, or `https://GitHub.com/` spelled another way,
 * applies too).
 */
export async function readCredentialEntries(
  env: NodeJS.ProcessEnv,
  cwd: string | undefined,
): Promise<ConfigEntry[]> {
  const result = await git(
    ['config', '-z', '--show-origin', '--show-scope', '--get-regexp', CREDENTIAL_KEYS],
    env,
    cwd,
  );
  if (result.code !== 0 && result.code !== 1) {
    throw new BrokerError(
      'CONFIG',
      `cannot read git's credential helpers: ${printable(result.stderr, 500) || `git config exited with ${result.code}`}`,
    );
  }
  return parseConfigEntries(result.stdout);
}

/** One scope's config file, as configure changes it. */
export class ScopeConfig {
  /** The scope as git config takes it: `--global`. */
  readonly flag: string;
  /** What this run has changed so far, for an error half-way. */
  readonly written: string[] = [];

  constructor(
    readonly scope: GitConfigScope,
    private readonly env: NodeJS.ProcessEnv,
    private readonly cwd: string | undefined,
    /** The key an error names when the arguments name none. */
    private readonly mainKey: string,
  ) {
    this.flag = `--${scope}`;
  }

  /** `git config --SCOPE ARGS`: its output, or an error that says what was done so far. */
  async run(args: string[], allowMissing = false): Promise<string> {
    const result = await git(['config', this.flag, ...args], this.env, this.cwd);
    // Exit 1 for a get, 5 for an unset: the key was not there, as may be.
    if (result.code === 0 || (allowMissing && (result.code === 1 || result.code === 5))) {
      return result.stdout;
    }
    if (/can only be used inside a git repository/.test(result.stderr)) {
      throw new BrokerError(
        'CONFIG',
        `${this.flag} needs a git repository: run configure inside one, or use --global`,
      );
    }
    const key = args.find((arg) => arg.startsWith('credential.')) ?? this.mainKey;
    const done =
      this.written.length === 0
        ? ''
        : `; already written: ${this.written.join(', ')} (run configure again to finish)`;
    throw new BrokerError(
      'CONFIG',
      `cannot change ${key} in git's ${this.scope} config: ${printable(result.stderr, 500) || `git config exited with ${result.code}`}; your own helpers were not touched${done}`,
    );
  }

  /**
   * The entries of one key in this scope's file (not in the files it
   * includes, which git config leaves alone when it writes), with and
   * without a value: `-z --get-all` shows an entry without one as empty.
   */
  async entriesOf(key: string): Promise<ConfigEntry[]> {
    return parseConfigEntries(
      await this.run(
        ['-z', '--show-origin', '--show-scope', '--get-regexp', exactly(key.toLowerCase())],
        true,
      ),
    );
  }

  /**
   * The file git keeps `key` in for this scope, as git itself reports it;
   * undefined when the key is not there.
   */
  async fileOf(key: string): Promise<string | undefined> {
    const result = await git(
      ['config', this.flag, '-z', '--show-origin', '--get-all', key],
      this.env,
      this.cwd,
    );
    const origin = result.code === 0 ? result.stdout.split('\0')[0] : undefined;
    if (origin === undefined || !origin.startsWith('file:')) return undefined;
    return resolve(this.cwd ?? process.cwd(), origin.slice('file:'.length));
  }

  /** The scope, and the file when known: `--global, /home/me/.gitconfig`. */
  where(file: string | undefined): string {
    return file === undefined ? this.flag : `${this.flag}, ${printable(file, 300)}`;
  }
}
