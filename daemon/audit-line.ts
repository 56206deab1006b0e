/**
 * What the audit log says: its fixed vocabulary of events, the fields every
 * line carries, and the line itself, in pino's line format (level, time,
 * msg). A token appears only as its SHA-256 fingerprint.
 */
import { withoutTokens } from '../shared/printable.js';
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
  /**
   * Why a token was revoked ('erase', 'shutdown'), or why a request was
   * denied when it is not its policy's allow list or ceiling ('mint_limit').
   */
  reason?: string;
  /** On a mint started by a hit shortly before the cached token went stale. */
  refreshedAhead?: boolean;
}

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
export function auditLine(event: AuditEvent, fields: AuditRecord): string {
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
 * The line written once the file takes lines again after writes failed:
 * how many lines were lost, since when, and the last write error's code.
 */
export function gapLine(lost: number, sinceMs: number, error: string): string {
  return `${JSON.stringify({
    level: 40,
    time: isoTime(),
    log: 'audit',
    event: AUDIT_GAP,
    lost,
    since: new Date(sinceMs).toISOString(),
    error,
    msg: AUDIT_GAP,
  })}\n`;
}
