/**
 * The audit log: one JSON line per credential event, written with pino to a
 * file only the daemon's user can read. A fixed vocabulary of events with the
 * same fields every time; a token appears only as its SHA-256 fingerprint.
 */
import { mkdirSync, openSync, writeSync } from 'node:fs';
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
 * Paths pino blanks out if a secret ever reaches an operational log call by
 * mistake. The audit log needs none: it copies only AuditRecord's fields.
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
 * The record as written: AuditRecord's fields and nothing else, nested
 * objects included, so a secret that reached a record by mistake (under
 * any name) never reaches the file. Cheaper than pino's redaction, which
 * can only blank the names it is told.
 */
function auditLine(event: AuditEvent, fields: AuditRecord): Record<string, unknown> {
  const { requester } = fields;
  const who: Requester = { pid: requester.pid, ppid: requester.ppid };
  if (requester.uid !== undefined) who.uid = requester.uid;
  if (requester.cwd !== undefined) who.cwd = requester.cwd;
  const line: Record<string, unknown> = {
    event,
    requestId: fields.requestId,
    integration: fields.integration,
    provider: fields.provider,
    target: fields.target,
    repository: fields.repository,
    installation: fields.installation,
    permissions: fields.permissions === null ? null : { ...fields.permissions },
    expiresAt: fields.expiresAt,
    durationMs: fields.durationMs,
    requester: who,
    listener: fields.listener,
    tokenSha256: fields.tokenSha256,
  };
  if (fields.error !== undefined) {
    line.error = { code: fields.error.code, message: fields.error.message };
  }
  if (fields.erased !== undefined) line.erased = fields.erased;
  if (fields.outcome !== undefined) line.outcome = fields.outcome;
  if (fields.reason !== undefined) line.reason = fields.reason;
  if (fields.refreshedAhead !== undefined) line.refreshedAhead = fields.refreshedAhead;
  return line;
}

/**
 * The audit file, appended with one write(2) per line on the daemon's
 * thread, before the reply leaves: even SIGKILL loses no event that was
 * served. (Lines were batched per event-loop turn once; under load a turn
 * almost never held more than one request, so it saved nothing.)
 */
class AuditFile {
  readonly #fd: number;
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
    this.#fd = openSync(path, 'a', 0o600);
  }

  /** pino's destination interface: one line, written now. */
  write(line: string): boolean {
    try {
      const written = writeSync(this.#fd, line);
      // A regular file takes the whole line; anything else may take part.
      if (written < Buffer.byteLength(line)) {
        const bytes = Buffer.from(line, 'utf8');
        for (let offset = written; offset < bytes.length; ) {
          offset += writeSync(this.#fd, bytes, offset);
        }
      }
    } catch (error) {
      // A write error (disk full, file system gone) must not stop the daemon.
      process.stderr.write(
        `git-credential-broker: audit log '${this.#path}' write failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`,
      );
    }
    return true;
  }
}

/**
 * pino's ISO timestamp, worked out once per millisecond: under load many
 * lines share one, and formatting a date is a good part of a line's cost.
 */
let stampedMs = Number.NaN;
let stamp = '';
function isoTimestamp(): string {
  const nowMs = Date.now();
  if (nowMs !== stampedMs) {
    stampedMs = nowMs;
    stamp = `,"time":"${new Date(nowMs).toISOString()}"`;
  }
  return stamp;
}

export class AuditLog {
  readonly #logger: Logger;

  /** Opens (creating if needed) the log file; fails now rather than on the first event. */
  static async open(path: string): Promise<AuditLog> {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      return new AuditLog(new AuditFile(path));
    } catch (error) {
      throw new ConfigError(
        `cannot open audit log '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; make its directory writable or set "auditLog" in the config`,
      );
    }
  }

  private constructor(file: AuditFile) {
    this.#logger = pino({ base: { log: 'audit' }, timestamp: isoTimestamp }, file);
  }

  record(event: AuditEvent, fields: AuditRecord): void {
    this.#logger.info(auditLine(event, fields), event);
  }

  /** Every line is written as it is recorded; kept so shutdown reads as it should. */
  async flush(): Promise<void> {}
}
