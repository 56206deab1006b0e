/**
 * Runs the configured program for each miss and reads one credential from
 * its JSON output. The daemon caches and audits it like any other.
 */
import { spawn } from 'node:child_process';
import { ProviderError, RequestDeniedError } from '../../shared/errors.js';
import { stripGitSuffixes, trimSlashes } from '../../shared/paths-text.js';
import { printable } from '../../shared/printable.js';
import { normalizeHost } from '../../shared/hosts.js';
import type { CredentialTarget, Permissions } from '../../shared/protocol.js';
import type {
  CredentialEnvelope,
  CredentialProvider,
  RequestedScopes,
  ResolvedScope,
} from '../provider.js';
import { ChildGroups } from './child-groups.js';
import type { CommandOptions } from './command-kind.js';

/** Largest output read from the program; a credential is far smaller. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * How long a program past its timeout has to end after SIGTERM before its
 * process group is killed: one that ignored SIGTERM used to hold its
 * request (and the daemon's shutdown) for good.
 */
export const KILL_GRACE_MS = 1000;

/** The repository part of a path: no surrounding slashes, `.git` or lfs suffix; lowercase. */
export function normalizePath(path: string | undefined): string {
  return stripGitSuffixes(trimSlashes(path ?? '')).toLowerCase();
}

/**
 * Refuses a path the program could misread: empty, `.` or `..` segments,
 * leftover percent-escapes or control characters. The program may build a
 * URL or a file name from it.
 */
function checkPath(repository: string): void {
  const bad = repository.split('/').some(
    (segment) =>
      segment === '.' ||
      segment === '..' ||
      (segment === '' && repository !== '') ||
      // eslint-disable-next-line no-control-regex -- control characters are what it refuses
      /[%\u0000-\u001f\u007f\\]/.test(segment),
  );
  if (bad) {
    throw new RequestDeniedError(
      `path '${printable(repository, 120)}' has an empty, '.' or '..' segment, a '%', a backslash or a control character`,
    );
  }
}

function parseExpiry(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string') return Date.parse(value);
  return Number.NaN;
}

export class CommandProvider implements CredentialProvider {
  readonly kind = 'command';

  readonly #children: ChildGroups;

  constructor(
    readonly name: string,
    readonly options: CommandOptions,
    children: ChildGroups = new ChildGroups(),
  ) {
    this.#children = children;
  }

  async resolveScope(target: CredentialTarget, requested: RequestedScopes): Promise<ResolvedScope> {
    const repository = normalizePath(target.path);
    checkPath(repository);
    const permissions: Permissions = requested.permissions ?? {};
    const canonical = Object.keys(permissions)
      .sort()
      .map((key) => `${key}=${permissions[key]}`)
      .join(',');
    return {
      cacheKey: [
        this.kind,
        this.name,
        normalizeHost(target.protocol, target.host),
        repository,
        canonical,
      ].join('|'),
      repository,
      permissions,
      metadata: { command: this.options.argv[0]! },
    };
  }

  repositoryOf(target: CredentialTarget): string {
    return normalizePath(target.path);
  }

  async getCredential(target: CredentialTarget, scope: ResolvedScope): Promise<CredentialEnvelope> {
    const stdout = await this.#run(target, scope);
    const program = this.options.argv[0]!;

    let output: unknown;
    try {
      output = JSON.parse(stdout);
    } catch {
      throw new ProviderError(
        `credential command '${program}' did not print a JSON object; it must print {"secret": ..., "expiresAt": ...}`,
      );
    }
    const { secret, expiresAt, username } = (output ?? {}) as Record<string, unknown>;
    if (typeof secret !== 'string' || secret === '' || /[\r\n\0]/.test(secret)) {
      throw new ProviderError(
        `credential command '${program}' printed no usable "secret" (a non-empty string on one line)`,
      );
    }
    const expiresAtMs = parseExpiry(expiresAt);
    if (!Number.isFinite(expiresAtMs)) {
      throw new ProviderError(
        `credential command '${program}' printed no valid "expiresAt" (ISO 8601 or Unix seconds)`,
      );
    }
    if (expiresAtMs <= Date.now()) {
      throw new ProviderError(
        `credential command '${program}' printed a credential that has already expired`,
      );
    }
    return {
      secret,
      username: typeof username === 'string' && username !== '' ? username : this.options.username,
      expiresAtMs,
      granted: {
        repositories: scope.repository === '' ? [] : [scope.repository],
        permissions: scope.permissions,
      },
      metadata: scope.metadata,
    };
  }

  /**
   * Runs the program in a process group of its own (detached), so that a
   * timeout or the daemon's shutdown reaches whatever it started too, and
   * resolves with its output once the program and everything holding its
   * output have ended.
   */
  #run(target: CredentialTarget, scope: ResolvedScope): Promise<string> {
    const [program, ...args] = this.options.argv as [string, ...string[]];
    const env = {
      ...process.env,
      GIT_CREDENTIAL_BROKER_PROTOCOL: target.protocol,
      GIT_CREDENTIAL_BROKER_HOST: normalizeHost(target.protocol, target.host),
      GIT_CREDENTIAL_BROKER_REPOSITORY: scope.repository,
      GIT_CREDENTIAL_BROKER_PERMISSIONS: JSON.stringify(scope.permissions),
    };
    // Its stderr is never read: it may hold a secret, and nothing quotes it.
    const child = spawn(program, args, {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const group = this.#children.track(child, {
      integration: this.name,
      command: program,
      repository: scope.repository,
    });
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let why: string | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      const stop = (reason: string): void => {
        why ??= reason;
        group.signal('SIGTERM');
        graceTimer ??= setTimeout(() => group.signal('SIGKILL'), KILL_GRACE_MS);
      };
      const timer = setTimeout(
        () => stop(`did not finish within ${this.options.timeoutMs} ms`),
        this.options.timeoutMs,
      );
      let settled = false;
      const settle = (error: string | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(graceTimer);
        // Never quote the program's output: it may hold a secret.
        if (error === undefined) resolve(Buffer.concat(chunks).toString('utf8'));
        else reject(new ProviderError(`credential command '${program}' ${error}`));
      };

      child.stdout!.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_OUTPUT_BYTES) stop(`printed more than ${MAX_OUTPUT_BYTES} bytes`);
        else chunks.push(chunk);
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') settle('was not found; check "command" in the broker config');
        else if (error.code === 'EACCES') settle('is not executable; chmod +x it');
        else settle(`could not be started: ${error.code ?? 'an unknown error'}`);
      });
      // 'close': the program has exited and its output is closed, also by
      // anything it started that held it.
      child.on('close', (code, signal) => {
        const killedFor = group.killedFor;
        if (killedFor !== undefined) settle(`was killed: ${killedFor}`);
        else if (why !== undefined) settle(why);
        else if (code === 0) settle(undefined);
        else if (signal !== null) settle(`was ended by ${signal}`);
        else settle(`exited with code ${String(code)}; run it by hand to see why`);
      });
    });
  }
}
