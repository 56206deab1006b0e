/**
 * Whether a daemon's OK reply has the fields its request's op promises,
 * checked before anything reads them. parseReply only knows a reply is a
 * JSON object in this protocol version; a daemon of another release, a
 * broken one or another program speaking it could still send a credential
 * without a string password, and git read `password=undefined` (found in
 * review). What is wrong is named, never its value: a credential's fields
 * are secrets.
 *
 * `status` is left to helper/commands/status-shape.ts, which every reader
 * of a status runs and which reports a wrong one as another release's.
 */
import { hasUnprintable } from './printable.js';
import type { Request } from './protocol.js';
import { MAX_SHUTDOWN_TIMEOUT_MS } from './protocol.js';

/** What a value is, for a message: its kind, never its content. */
function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Expiry bounds: a time in milliseconds after 2000 and at most a few years
 * ahead. Below catches seconds sent for milliseconds (git would take the
 * password as expired in 1970); above, no daemon of this release sends it
 * (a credential lives a year at most, a shutdown minutes), and found in
 * review, 1e300 or 8.64e15 printed as nonsense.
 */
const EARLIEST_EXPIRY_MS = Date.UTC(2000, 0, 1);

/** How far ahead a time in a reply may lie: a year's credential, with room for a skewed clock. */
export const FAR_AHEAD_MS = 5 * 366 * 24 * 60 * 60 * 1000;

/** Whether `value` is a time no further ahead than FAR_AHEAD_MS (any time before now is one). */
export function isNotFarAhead(value: unknown, nowMs = Date.now()): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value <= nowMs + FAR_AHEAD_MS;
}

/** Git's line protocol cannot carry these in a value. */
const GIT_LINE_BREAKER = /[\n\r\0]/;

/** U+FFFD, what bytes that were not UTF-8 decode to, or a lone surrogate (with u, a pair is no match). */
const NOT_UTF8 = /[\ufffd\ud800-\udfff]/u;

/**
 * A string for git: present, not empty, without a newline, carriage return
 * or NUL. Its length needs no check: the whole reply is capped at
 * MAX_MESSAGE_BYTES, under git's 65535-byte line.
 *
 * It must also be the exact text git and `token` hand on: bytes that were
 * not UTF-8 decode to U+FFFD (and a lone surrogate is written out as one),
 * so git would send a password other than the daemon's; and what a
 * terminal acts on (an escape, a line separator, a bidirectional mark) is
 * in no username or token. Both readers refuse either here, with one
 * message, so `get` and `token` never disagree about a credential.
 */
function gitStringProblem(name: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return `without a string '${name}' (it is ${kindOf(value)})`;
  if (value === '') return `with an empty '${name}'`;
  if (GIT_LINE_BREAKER.test(value)) {
    return `whose '${name}' holds a newline, carriage return or NUL, which git's credential protocol cannot carry`;
  }
  if (NOT_UTF8.test(value)) {
    return `whose '${name}' is not valid UTF-8 text, so it cannot be handed on exactly as sent`;
  }
  if (hasUnprintable(value)) {
    return `whose '${name}' holds control or invisible characters (an escape, a line separator, a bidirectional mark), which no credential has`;
  }
  return undefined;
}

function credentialProblem(credential: unknown): string | undefined {
  if (!isRecord(credential)) return `without a 'credential' object (it is ${kindOf(credential)})`;
  const { username, secret, expiresAtMs, granted, cached } = credential;
  const text = gitStringProblem('username', username) ?? gitStringProblem('secret', secret);
  if (text !== undefined) return text;
  if (
    typeof expiresAtMs !== 'number' ||
    !Number.isSafeInteger(expiresAtMs) ||
    expiresAtMs < EARLIEST_EXPIRY_MS ||
    !isNotFarAhead(expiresAtMs)
  ) {
    return `whose 'expiresAtMs' is not a whole number of milliseconds since 1970 between the year 2000 and five years from now (it is ${kindOf(expiresAtMs)}${typeof expiresAtMs === 'number' ? ` ${expiresAtMs}` : ''})`;
  }
  if (
    !isRecord(granted) ||
    !Array.isArray(granted.repositories) ||
    !granted.repositories.every((name) => typeof name === 'string') ||
    !isRecord(granted.permissions) ||
    !Object.values(granted.permissions).every((level) => typeof level === 'string')
  ) {
    return "whose 'granted' is not { repositories: [names], permissions: { name: level } }";
  }
  if (typeof cached !== 'boolean') return `without a boolean 'cached' (it is ${kindOf(cached)})`;
  return undefined;
}

const isCount = (value: unknown): boolean =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isPositive = (value: unknown): boolean =>
  typeof value === 'number' && Number.isFinite(value) && value > 0;

/** Every field of a ping reply is optional (older daemons sent fewer); present, each is checked. */
function pingProblem(reply: Record<string, unknown>): string | undefined {
  const { daemonVersion, pid, shutdownTimeoutMs, reloads } = reply;
  if (daemonVersion !== undefined && typeof daemonVersion !== 'string') {
    return `whose 'daemonVersion' is not a string (it is ${kindOf(daemonVersion)})`;
  }
  // `stop` signals this pid: it must be a process id, not anything a reply says.
  if (pid !== undefined && !(isCount(pid) && (pid as number) > 0)) {
    return `whose 'pid' is not a process id (it is ${kindOf(pid)})`;
  }
  if (shutdownTimeoutMs !== undefined && !isPositive(shutdownTimeoutMs)) {
    return `whose 'shutdownTimeoutMs' is not a positive number of milliseconds (it is ${kindOf(shutdownTimeoutMs)})`;
  }
  // `stop` waits this long: no daemon's config allows more.
  if (shutdownTimeoutMs !== undefined && (shutdownTimeoutMs as number) > MAX_SHUTDOWN_TIMEOUT_MS) {
    return `whose 'shutdownTimeoutMs' is over the ${MAX_SHUTDOWN_TIMEOUT_MS} ms a config may set (it is ${String(shutdownTimeoutMs)})`;
  }
  if (
    reloads !== undefined &&
    !(
      isRecord(reloads) &&
      isCount(reloads.ended) &&
      (reloads.lastRequestedAtMs === undefined || isPositive(reloads.lastRequestedAtMs))
    )
  ) {
    return "whose 'reloads' is not { ended: count, lastRequestedAtMs?: time }";
  }
  return undefined;
}

/**
 * What is wrong with an OK reply to `op`, as the end of a sentence that
 * starts "the daemon sent": `a credential reply without a string 'secret'
 * (it is a number)`. Undefined when nothing is; fields this release does
 * not know are let through (a later release may add some).
 */
export function replyShapeProblem(
  op: Request['op'],
  reply: Record<string, unknown>,
): string | undefined {
  switch (op) {
    case 'get': {
      const problem = credentialProblem(reply.credential);
      return problem === undefined ? undefined : `a credential reply ${problem}`;
    }
    case 'erase':
      return reply.erased === undefined || isCount(reply.erased)
        ? undefined
        : `an erase reply whose 'erased' is not a count (it is ${kindOf(reply.erased)})`;
    case 'ping': {
      const problem = pingProblem(reply);
      return problem === undefined ? undefined : `a ping reply ${problem}`;
    }
    case 'status':
    case 'stop':
      return undefined;
  }
}
