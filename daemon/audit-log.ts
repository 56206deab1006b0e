/**
 * The audit log: one JSON line per credential event, written with pino to a
 * file only the daemon's user can read. A fixed vocabulary of events with the
 * same fields every time; a token appears only as its SHA-256 fingerprint.
 */
import {
  closeSync,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  writeSync,
} from 'node:fs';
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
  const who: Record<string, unknown> = { pid: scalar(requester.pid), ppid: scalar(requester.ppid) };
  if (requester.uid !== undefined) who.uid = scalar(requester.uid);
  if (requester.cwd !== undefined) who.cwd = scalar(requester.cwd);
  const line: Record<string, unknown> = {
    event,
    requestId: scalar(fields.requestId),
    integration: scalar(fields.integration),
    provider: scalar(fields.provider),
    target: scalar(fields.target),
    repository: scalar(fields.repository),
    installation: scalar(fields.installation),
    permissions: permissionsOf(fields.permissions),
    expiresAt: scalar(fields.expiresAt),
    durationMs: scalar(fields.durationMs),
    requester: who,
    listener: scalar(fields.listener),
    tokenSha256: scalar(fields.tokenSha256),
  };
  if (fields.error !== undefined) {
    line.error = { code: scalar(fields.error.code), message: scalar(fields.error.message) };
  }
  if (fields.erased !== undefined) line.erased = scalar(fields.erased);
  if (fields.outcome !== undefined) line.outcome = scalar(fields.outcome);
  if (fields.reason !== undefined) line.reason = scalar(fields.reason);
  if (fields.refreshedAhead !== undefined) line.refreshedAhead = scalar(fields.refreshedAhead);
  return line;
}

/** A field's value if it is a string, number or boolean; anything else is null. */
function scalar(value: unknown): string | number | boolean | null {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? value
    : null;
}

const PERMISSION_LEVELS: ReadonlySet<unknown> = new Set(['read', 'write', 'admin']);

/** Permission names with a permission level; any other value is left out. */
function permissionsOf(permissions: unknown): Record<string, string> | null {
  if (permissions === null || typeof permissions !== 'object') return null;
  const out: Record<string, string> = {};
  for (const [name, level] of Object.entries(permissions)) {
    if (PERMISSION_LEVELS.has(level)) out[name] = level as string;
  }
  return out;
}

/**
 * The audit file, appended with one write(2) per line on the daemon's
 * thread, before the reply leaves: even SIGKILL loses no event that was
 * served. (Lines were batched per event-loop turn once; under load a turn
 * almost never held more than one request, so it saved nothing.)
 */
const REPORT_EVERY_MS = 60_000;

/**
 * Opens the audit file for appending, readable by the daemon's user only,
 * whoever created it (logrotate's `create 0644`, say).
 */
function openAuditFile(path: string): number {
  const fd = openSync(path, 'a', 0o600);
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

class AuditFile {
  #fd: number;
  readonly #path: string;
  /** Writes fail now: set by a failure, cleared by the next success. */
  #failing = false;
  /** A failed write may have left part of a line that could not be cut off. */
  #torn = false;
  /** Failures not yet reported on stderr, and when the last report was. */
  #unreported = 0;
  #reportedAtMs = Number.NEGATIVE_INFINITY;

  constructor(path: string) {
    this.#path = path;
    this.#fd = openAuditFile(path);
  }

  get failing(): boolean {
    return this.#failing;
  }

  /** pino's destination interface: one line, written now. */
  write(line: string): boolean {
    const text = this.#torn ? `\n${line}` : line;
    let written = 0;
    try {
      written = writeSync(this.#fd, text);
      // A regular file takes the whole line at once; anything else may not.
      const size = Buffer.byteLength(text);
      if (written < size) {
        const bytes = Buffer.from(text, 'utf8');
        while (written < size) written += writeSync(this.#fd, bytes, written);
      }
      this.#failing = false;
      this.#torn = false;
    } catch (error) {
      this.#failing = true;
      if (written > 0) this.#cutOff(written);
      this.#report(error as NodeJS.ErrnoException);
    }
    return true;
  }

  /**
   * Removes the part of a line a failed write left at the end of the file,
   * so the lines after it stay whole; failing that, the next line starts on
   * a line of its own.
   */
  #cutOff(written: number): void {
    try {
      ftruncateSync(this.#fd, fstatSync(this.#fd).size - written);
    } catch {
      this.#torn = true;
    }
  }

  /**
   * A write error (disk full, file system gone) must not stop the daemon:
   * the caller learns of it and refuses to serve. Reported at most once a
   * minute: a flood of reports would fill a disk of its own.
   */
  #report(error: NodeJS.ErrnoException): void {
    this.#unreported++;
    const nowMs = Date.now();
    if (nowMs - this.#reportedAtMs < REPORT_EVERY_MS) return;
    const more =
      this.#unreported > 1 ? ` (${this.#unreported - 1} more since the last report)` : '';
    process.stderr.write(
      `git-credential-broker: audit log '${this.#path}' write failed: ${error.code ?? error.message}${more}; no credential is served until it can be written\n`,
    );
    this.#reportedAtMs = nowMs;
    this.#unreported = 0;
  }

  /**
   * Opens the path again (after logrotate moved the file, or someone removed
   * it); the old file stays in use if the path cannot be opened.
   */
  reopen(): void {
    let fd: number;
    try {
      mkdirSync(dirname(this.#path), { recursive: true, mode: 0o700 });
      fd = openAuditFile(this.#path);
    } catch (error) {
      // Not a write failure: lines still go to the file opened before.
      process.stderr.write(
        `git-credential-broker: cannot reopen audit log '${this.#path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; still writing to the file opened before\n`,
      );
      return;
    }
    const old = this.#fd;
    this.#fd = fd;
    closeSync(old);
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
  readonly #file: AuditFile;

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
    this.#file = file;
    this.#logger = pino({ base: { log: 'audit' }, timestamp: isoTimestamp }, file);
  }

  /**
   * Writes one line. False when it could not be written (reported on the
   * daemon's stderr): a caller about to hand out a credential must refuse.
   */
  record(event: AuditEvent, fields: AuditRecord): boolean {
    this.#logger.info(auditLine(event, fields), event);
    // Set by this very write when it failed, cleared when it succeeded.
    return !this.#file.failing;
  }

  /** Writes fail now (a full disk, say): no credential should be handed out. */
  get failing(): boolean {
    return this.#file.failing;
  }

  /** Opens the file again, for log rotation: the daemon does this on SIGHUP. */
  reopen(): void {
    this.#file.reopen();
  }
}
