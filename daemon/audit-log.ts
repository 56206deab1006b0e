/**
 * The audit log: one JSON line per credential event, in pino's line format
 * (level, time, msg), to a file only the daemon's user can read. A fixed
 * vocabulary of events with the same fields every time; a token appears
 * only as its SHA-256 fingerprint.
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
import { withoutTokens } from '../shared/printable.js';
import { writeStderr } from './stderr-log.js';
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

/**
 * Not an event about a credential: the line written once the file takes
 * lines again after writes failed, saying how many lines were lost.
 */
export const AUDIT_GAP = 'audit.gap';

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
 * The ISO time of a line, worked out once per millisecond: under load many
 * lines share one, and formatting a date is a good part of a line's cost.
 */
let stampedMs = Number.NaN;
let stamp = '';
function isoTime(): string {
  const nowMs = Date.now();
  if (nowMs !== stampedMs) {
    stampedMs = nowMs;
    stamp = new Date(nowMs).toISOString();
  }
  return stamp;
}

/**
 * The line as written: pino's fields (so pino's tools read the file), then
 * AuditRecord's fields and nothing else, nested objects included, so a
 * secret that reached a record by mistake (under any name) never reaches
 * the file. Cheaper than pino's redaction, which can only blank the names
 * it is told; and one JSON.stringify is cheaper than pino's field-by-field
 * serializer, which cost a cache hit about 3 us and 3.5 KB of garbage.
 */
function auditLine(event: AuditEvent, fields: AuditRecord): string {
  const { requester } = fields;
  const who: Record<string, unknown> = { pid: scalar(requester.pid), ppid: scalar(requester.ppid) };
  if (requester.uid !== undefined) who.uid = scalar(requester.uid);
  if (requester.cwd !== undefined) who.cwd = fromClient(requester.cwd);
  const line: Record<string, unknown> = {
    level: 30,
    time: isoTime(),
    log: 'audit',
    event,
    requestId: scalar(fields.requestId),
    integration: scalar(fields.integration),
    provider: scalar(fields.provider),
    target: fromClient(fields.target),
    repository: fromClient(fields.repository),
    installation: scalar(fields.installation),
    permissions: permissionsOf(fields.permissions),
    expiresAt: scalar(fields.expiresAt),
    durationMs: scalar(fields.durationMs),
    requester: who,
    listener: scalar(fields.listener),
    tokenSha256: scalar(fields.tokenSha256),
  };
  if (fields.error !== undefined) {
    line.error = { code: scalar(fields.error.code), message: fromClient(fields.error.message) };
  }
  if (fields.erased !== undefined) line.erased = scalar(fields.erased);
  if (fields.outcome !== undefined) line.outcome = scalar(fields.outcome);
  if (fields.reason !== undefined) line.reason = scalar(fields.reason);
  if (fields.refreshedAhead !== undefined) line.refreshedAhead = scalar(fields.refreshedAhead);
  line.msg = event;
  return `${JSON.stringify(line)}\n`;
}

/**
 * scalar() for a field a client's request can fill (a path, a working
 * directory, an error quoting either): a token put there is not written.
 */
function fromClient(value: unknown): string | number | boolean | null {
  const kept = scalar(value);
  return typeof kept === 'string' ? withoutTokens(kept) : kept;
}

/** A field's value if it is a string, number or boolean; anything else is null. */
function scalar(value: unknown): string | number | boolean | null {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? value
    : null;
}

const PERMISSION_LEVELS: ReadonlySet<unknown> = new Set(['read', 'write', 'admin']);

/**
 * The filtered copy of each permissions object seen, while it lives: a
 * cached token's audit lines all carry its one granted set. Frozen objects
 * only, as nothing can change those after the copy was made.
 */
const permissionCopies = new WeakMap<object, Record<string, string>>();

/** Permission names with a permission level; any other value is left out. */
function permissionsOf(permissions: unknown): Record<string, string> | null {
  if (permissions === null || typeof permissions !== 'object') return null;
  const frozen = Object.isFrozen(permissions);
  let out = frozen ? permissionCopies.get(permissions) : undefined;
  if (out !== undefined) return out;
  out = {};
  for (const [name, level] of Object.entries(permissions)) {
    if (PERMISSION_LEVELS.has(level)) out[name] = level as string;
  }
  if (frozen) permissionCopies.set(permissions, out);
  return out;
}

/**
 * Lines are written in batches, one write(2) each, and a credential's reply
 * waits for the batch that holds its line: even SIGKILL loses no event that
 * was served. A batch is written once a turn of the event loop adds no line
 * to it, or when it holds BATCH_MAX_LINES or is BATCH_MAX_MS old. A lone
 * request waits one extra turn; under load, one write carries dozens of
 * lines (one write per line cost about a quarter of a cache hit).
 */
export const BATCH_MAX_LINES = 64;
export const BATCH_MAX_MS = 2;

/** How often a failing audit log is reported on stderr, at most. */
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
  /** The error code of the last failed write. */
  lastError = '';
  readonly #say: (text: string) => void;

  constructor(path: string, say: (text: string) => void) {
    this.#path = path;
    this.#say = say;
    this.#fd = openAuditFile(path);
  }

  get failing(): boolean {
    return this.#failing;
  }

  /** Appends whole lines; false (and nothing left behind) when they could not be written. */
  append(lines: string): boolean {
    const text = this.#torn ? `\n${lines}` : lines;
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
      return true;
    } catch (error) {
      this.#failing = true;
      this.lastError = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (written > 0) this.#cutOff(written);
      this.#report(error as NodeJS.ErrnoException);
      return false;
    }
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
    this.#say(
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
      this.#say(
        `git-credential-broker: cannot reopen audit log '${this.#path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; still writing to the file opened before\n`,
      );
      return;
    }
    const old = this.#fd;
    this.#fd = fd;
    closeSync(old);
  }
}

/** What to do about an audit log path that cannot be opened, by the error's code. */
function openFix(code: string | undefined): string {
  switch (code) {
    case 'EISDIR':
      return 'that is a directory; set "auditLog" in the config to a file path';
    case 'ENOTDIR':
    case 'EEXIST':
      return 'part of that path is a file, not a directory; set "auditLog" in the config to a path in a directory';
    default:
      return 'make its directory writable by the daemon\'s user or set "auditLog" in the config';
  }
}

/** Lines waiting for their write, and the promise their callers hold. */
interface Batch {
  lines: string[];
  startedMs: number;
  /** How many lines it held at the last turn: a turn that adds none ends it. */
  seen: number;
  /** True once the lines are in the file, false if they could not be written. */
  written: Promise<boolean>;
  settle: (written: boolean) => void;
}

/** How often a failing audit log tries to write again on its own. */
export const RECOVERY_PROBE_MS = 1000;

export class AuditLog {
  readonly #file: AuditFile;
  #batch: Batch | undefined;
  /** While writes fail: since when, how many lines were lost, and the retry timer. */
  #failingSinceMs: number | undefined;
  #lost = 0;
  #probe: NodeJS.Timeout | undefined;

  /**
   * Opens (creating if needed) the log file; fails now rather than on the
   * first event. `say` takes the log's own failure reports: by default the
   * daemon's stderr, which never throws (a full disk may fail it too).
   */
  static async open(
    path: string,
    say: (text: string) => void = (text) => void writeStderr(text),
  ): Promise<AuditLog> {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      return new AuditLog(new AuditFile(path, say));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        `cannot open audit log '${path}': ${code ?? (error as Error).message}; ${openFix(code)}`,
      );
    }
  }

  private constructor(file: AuditFile) {
    this.#file = file;
  }

  /**
   * Queues one line. Resolves true once it is in the file, false when it
   * could not be written (reported on the daemon's stderr): a caller about
   * to hand out a credential must wait for true, and refuse on false.
   */
  record(event: AuditEvent, fields: AuditRecord): Promise<boolean> {
    const batch = this.#open();
    batch.lines.push(auditLine(event, fields));
    if (batch.lines.length >= BATCH_MAX_LINES) this.flush();
    return batch.written;
  }

  /** Writes fail now (a full disk, say): no credential should be handed out. */
  get failing(): boolean {
    return this.#file.failing;
  }

  /** Writes the lines waiting now. The daemon calls this before it exits. */
  flush(): void {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    batch.settle(this.#write(batch.lines));
  }

  /**
   * Writes lines. After a failure, the first write that works is preceded
   * by an `audit.gap` line (how many lines were lost, since when, why), and
   * a timer tries that line every RECOVERY_PROBE_MS meanwhile: a disk that
   * is freed is found before the next request has to be refused for it.
   */
  #write(lines: readonly string[]): boolean {
    const since = this.#failingSinceMs;
    const gap = since === undefined ? '' : this.#gapLine(since);
    if (this.#file.append(gap + lines.join(''))) {
      this.#failingSinceMs = undefined;
      this.#lost = 0;
      clearInterval(this.#probe);
      this.#probe = undefined;
      return true;
    }
    this.#failingSinceMs ??= Date.now();
    this.#lost += lines.length;
    if (this.#probe === undefined) {
      this.#probe = setInterval(() => this.#write([]), RECOVERY_PROBE_MS);
      this.#probe.unref();
    }
    return false;
  }

  #gapLine(sinceMs: number): string {
    return `${JSON.stringify({
      level: 40,
      time: isoTime(),
      log: 'audit',
      event: AUDIT_GAP,
      lost: this.#lost,
      since: new Date(sinceMs).toISOString(),
      error: this.#file.lastError,
      msg: AUDIT_GAP,
    })}\n`;
  }

  /** Opens the file again, for log rotation: the daemon does this on SIGHUP. */
  reopen(): void {
    // Lines recorded before the signal belong in the file they were meant for.
    this.flush();
    this.#file.reopen();
  }

  /** The batch taking lines now, started if there is none. */
  #open(): Batch {
    if (this.#batch !== undefined) return this.#batch;
    let settle!: (written: boolean) => void;
    const written = new Promise<boolean>((resolve) => (settle = resolve));
    const batch: Batch = { lines: [], startedMs: performance.now(), seen: 0, written, settle };
    this.#batch = batch;
    setImmediate(() => this.#afterTurn(batch));
    return batch;
  }

  /** At the end of each turn: wait one more while lines keep coming, within the bounds. */
  #afterTurn(batch: Batch): void {
    if (this.#batch !== batch) return;
    const count = batch.lines.length;
    if (count > batch.seen && performance.now() - batch.startedMs < BATCH_MAX_MS) {
      batch.seen = count;
      setImmediate(() => this.#afterTurn(batch));
      return;
    }
    this.flush();
  }
}
