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
import { DAEMON_LOG_ENV } from '../../shared/socket-lock-state.js';
import { ChildGroups } from './child-groups.js';
import { openOutputSocket } from './output-socket.js';
import type { CommandOptions } from './command-kind.js';

/** Largest output read from the program; a credential is far smaller. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * How long a program past its timeout has to end after SIGTERM before its
 * process group is killed: one that ignored SIGTERM used to hold its
 * request (and the daemon's shutdown) for good.
 */
export const KILL_GRACE_MS = 1000;

/**
 * How long after the program has exited its output is still read: what it
 * printed is in the socket already, so this is plenty. Its output closes
 * at once unless something it started holds it on (a background process),
 * which must not hold the request too.
 */
export const OUTPUT_DRAIN_MS = 250;

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

/** The furthest expiry a program may print: what every provider's credential may claim. */
const MAX_EXPIRY_AHEAD_MS = 366 * 24 * 60 * 60 * 1000;

/**
 * `expiresAt` as the README documents it: a number is Unix seconds, a
 * string ISO 8601. Returns ms since the epoch, or what is wrong with it,
 * naming what was received (a number or a date is no secret; a string
 * that is not a date is not quoted, as it might be one).
 */
export function parseExpiry(value: unknown, nowMs: number): number | string {
  const expected = 'expected Unix seconds (a number) or an ISO 8601 date, within a year';
  let expiresAtMs: number;
  let received: string;
  if (typeof value === 'number' && Number.isFinite(value)) {
    expiresAtMs = value * 1000;
    received = `${value} (Unix seconds: ${describeMs(expiresAtMs)})`;
    // Seconds past the year 5000 are milliseconds printed by mistake.
    if (value > 1e11) return `${value}, which looks like milliseconds; ${expected}`;
  } else if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) {
    expiresAtMs = Date.parse(value);
    received = `'${printable(value, 40)}'`;
  } else {
    return `${value === undefined ? 'nothing' : `a ${typeof value} that is no date`}; ${expected}`;
  }
  if (expiresAtMs <= nowMs) return `${received}, which has already passed`;
  if (expiresAtMs > nowMs + MAX_EXPIRY_AHEAD_MS) {
    return `${received}, more than a year away; ${expected}`;
  }
  return expiresAtMs;
}

function describeMs(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? 'no date' : date.toISOString();
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
    const expiresAtMs = parseExpiry(expiresAt, Date.now());
    if (typeof expiresAtMs === 'string') {
      throw new ProviderError(`credential command '${program}' printed "expiresAt" ${expiresAtMs}`);
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
   * resolves with its output once it has exited: not once everything that
   * could hold its output has let go, which a background process it
   * started may never do.
   */
  async #run(target: CredentialTarget, scope: ResolvedScope): Promise<string> {
    const [program, ...args] = this.options.argv as [string, ...string[]];
    const inherited = { ...process.env };
    // Where the daemon logs is no business of the program's.
    delete inherited[DAEMON_LOG_ENV];
    const env = {
      ...inherited,
      GIT_CREDENTIAL_BROKER_PROTOCOL: target.protocol,
      GIT_CREDENTIAL_BROKER_HOST: normalizeHost(target.protocol, target.host),
      GIT_CREDENTIAL_BROKER_REPOSITORY: scope.repository,
      GIT_CREDENTIAL_BROKER_PERMISSIONS: JSON.stringify(scope.permissions),
    };
    const { reader: output, writer, name } = await openOutputSocket();
    // Its stderr is never read: it may hold a secret, and nothing quotes it.
    const child = spawn(program, args, {
      env,
      detached: true,
      stdio: ['ignore', writer, 'ignore'],
    });
    // The program has its copy now; the daemon's would keep the output open.
    writer.destroy();
    const group = this.#children.track(
      child,
      { integration: this.name, command: program, repository: scope.repository },
      name,
    );
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let why: string | undefined;
      let exited: string | null | undefined;
      const timers: NodeJS.Timeout[] = [];
      const later = (ms: number, run: () => void): void => void timers.push(setTimeout(run, ms));

      let settled = false;
      const settle = (error: string | null): void => {
        if (settled) return;
        settled = true;
        for (const timer of timers) clearTimeout(timer);
        // Still open: something the program started holds its output. The
        // daemon stops reading it, and kills that process when it stops.
        group.settled(!output.closed);
        output.destroy();
        // Never quote the program's output: it may hold a secret.
        if (error === null) resolve(Buffer.concat(chunks).toString('utf8'));
        else reject(new ProviderError(`credential command '${program}' ${error}`));
      };
      /** The program's result, once it has exited (or could not be made to). */
      const finish = (): void => {
        const killedFor = group.killedFor;
        if (killedFor !== undefined) settle(`was killed: ${killedFor}`);
        else if (why !== undefined) settle(why);
        else settle(exited === undefined ? 'could not be stopped' : exited);
      };
      /**
       * `finish`, once the event loop has polled: the wait for the output
       * can run out before what the program printed was read (its exit is
       * often seen a turn of the loop before its output, and timers run
       * before the poll on a busy machine): found under load, a shell
       * script's output was lost. What it printed before it exited is in
       * the socket by then, and that poll reads it.
       */
      const finishAfterPoll = (): void => void setImmediate(finish);
      const stop = (reason: string): void => {
        if (why !== undefined) return;
        why = reason;
        group.signal('SIGTERM');
        later(KILL_GRACE_MS, () => {
          group.signal('SIGKILL');
          // Bounded even if the program's exit is never seen (a process of
          // another user in its group): the request ends here at the latest.
          later(OUTPUT_DRAIN_MS, finishAfterPoll);
        });
      };
      later(this.options.timeoutMs, () =>
        stop(`did not finish within ${this.options.timeoutMs} ms`),
      );

      output.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > MAX_OUTPUT_BYTES) stop(`printed more than ${MAX_OUTPUT_BYTES} bytes`);
        else chunks.push(chunk);
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') settle('was not found; check "command" in the broker config');
        else if (error.code === 'EACCES') settle('is not executable; chmod +x it');
        else settle(`could not be started: ${error.code ?? 'an unknown error'}`);
      });
      child.on('exit', (code, signal) => {
        if (code === 0) exited = null;
        else if (signal !== null) exited = `was ended by ${signal}`;
        else exited = `exited with code ${String(code)}; run it by hand to see why`;
        // Its last words are read until its output closes, or briefly.
        if (output.closed) finish();
        else later(this.options.outputDrainMs ?? OUTPUT_DRAIN_MS, finishAfterPoll);
      });
      // A reset of its end ends the output as a close would.
      output.on('error', () => undefined);
      output.on('close', () => {
        if (exited !== undefined) finish();
      });
    });
  }
}
