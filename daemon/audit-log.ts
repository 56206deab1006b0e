/**
 * The audit log: one JSON line per credential event, written with pino to a
 * file only the daemon's user can read. A fixed vocabulary of events with the
 * same fields every time; a token appears only as its SHA-256 fingerprint.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { ConfigError } from '../shared/errors.js';
import type { Permissions, Requester } from '../shared/protocol.js';

/** Every event the audit log records. */
export const AUDIT_EVENTS = {
  minted: 'token.minted',
  cacheHit: 'token.cache_hit',
  /** Minting failed upstream; a cached token that still had life was served. */
  fallback: 'token.fallback',
  denied: 'token.denied',
  failed: 'token.failed',
  erased: 'token.erased',
  revoked: 'token.revoked',
} as const;

export type AuditEvent = (typeof AUDIT_EVENTS)[keyof typeof AUDIT_EVENTS];

export interface AuditRecord {
  requestId: string;
  integration: string | null;
  provider: string | null;
  /** protocol://host/path as git asked, without credentials. */
  target: string;
  repository: string | null;
  installation: string | number | null;
  permissions: Permissions | null;
  expiresAt: string | null;
  durationMs: number;
  requester: Requester;
  /** The socket the request came in on: unlike requester, not self-reported. */
  listener: string | null;
  tokenSha256: string | null;
  error?: { code: string; message: string };
  erased?: number;
  /** For token.revoked: 'revoked', or 'expired' when it no longer worked anyway. */
  outcome?: string;
  /** Why a token was revoked: 'erase' or 'shutdown'. */
  reason?: string;
  /** On a mint started by a hit shortly before the cached token went stale. */
  refreshedAhead?: boolean;
}

/**
 * Paths pino blanks out if a secret ever reaches a log call by mistake. The
 * audit records above never carry one; this is the second line of defence.
 */
export const REDACT_PATHS = [
  'secret',
  'token',
  'password',
  'privateKey',
  '*.secret',
  '*.token',
  '*.password',
  '*.privateKey',
  'envelope.secret',
  'credential.secret',
];

/**
 * The same paths without wildcards, for the audit log alone: its records
 * have a fixed shape (AuditRecord), so every object field that exists is
 * named, and a line costs a fraction of what wildcard redaction does.
 */
export const AUDIT_REDACT_PATHS = [
  ...REDACT_PATHS.filter((path) => !path.startsWith('*.')),
  ...['requester', 'permissions', 'error'].flatMap((field) =>
    ['secret', 'token', 'password', 'privateKey'].map((name) => `${field}.${name}`),
  ),
];

export class AuditLog {
  readonly #logger: Logger;
  readonly #destination: ReturnType<typeof pino.destination>;

  /** Opens (creating if needed) the log file; fails now rather than on the first event. */
  static async open(path: string): Promise<AuditLog> {
    const log = new AuditLog(path);
    await log.#ready;
    return log;
  }

  readonly #ready: Promise<void>;

  private constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Synchronous appends: one write(2) per line on the daemon's thread costs
    // less than a thread-pool round trip per line, and a line is with the
    // kernel before the reply leaves, so even SIGKILL loses no event.
    this.#destination = pino.destination({ dest: path, mkdir: true, sync: true, mode: 0o600 });
    this.#ready = new Promise((resolve, reject) => {
      this.#destination.once('ready', () => resolve());
      this.#destination.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          new ConfigError(
            `cannot open audit log '${path}': ${error.code ?? error.message}; make its directory writable or set "auditLog" in the config`,
          ),
        );
      });
    });
    // A write error later (disk full, file removed) must not crash the daemon.
    this.#destination.on('error', (error: NodeJS.ErrnoException) => {
      process.stderr.write(
        `git-credential-broker: audit log '${path}' write failed: ${error.code ?? error.message}\n`,
      );
    });
    this.#logger = pino(
      {
        base: { log: 'audit' },
        timestamp: pino.stdTimeFunctions.isoTime,
        redact: { paths: AUDIT_REDACT_PATHS, censor: '[redacted]' },
      },
      this.#destination,
    );
  }

  record(event: AuditEvent, fields: AuditRecord): void {
    this.#logger.info({ event, ...fields }, event);
  }

  /** Writes out what is buffered; call before exit. */
  async flush(): Promise<void> {
    await this.#ready;
    return new Promise((resolve) => {
      this.#logger.flush(() => resolve());
    });
  }
}
