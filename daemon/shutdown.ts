/**
 * The daemon's shutdown, bounded as a whole: it stops accepting, answers
 * the requests in flight, revokes what it must, writes the audit log's last
 * lines and is done within its budget (`shutdownTimeoutSeconds`, 25 s by
 * default), so that `stop`, which waits that plus STOP_MARGIN_MS, sees it
 * gone. The time is shared in that order: requests in flight first (a mint
 * started just before the stop may take GitHub's whole retry budget, 25
 * s), the revocations get what is left, and what is still unconfirmed when
 * the time runs out is logged and audited as unrevoked, never waited for.
 */
import type { Logger } from 'pino';
import { BrokerError } from '../shared/errors.js';
import { removeRevokingNote, writeRevokingNote } from '../shared/revoking-note.js';
import { writeStoppedMark } from '../shared/stopped-mark.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, STOP_MARGIN_MS } from '../shared/protocol.js';
import type { AuditLog } from './audit-log.js';
import type { ChildGroups } from './providers/child-groups.js';
import type { CredentialService } from './credential-service.js';
import { closeListeners, type RunningListener } from './listener.js';
import { releaseSocketPath } from './socket-file.js';
import { markSocketLockStopping } from './socket-lock.js';
import type { RevocationCause, RevocationSummary, TokenRevoker } from './token-revoker.js';

/**
 * Left of what `stop` waits: for the process to exit once the shutdown is
 * done, and for `stop` to notice (it looks every 50 ms) on a busy machine.
 */
export const SHUTDOWN_MARGIN_MS = STOP_MARGIN_MS;

/** The whole shutdown, requests in flight and revocations included, ends within this by default. */
export const SHUTDOWN_BUDGET_MS = DEFAULT_SHUTDOWN_TIMEOUT_MS;

/**
 * How long the shutdown gives the revocations that failed at erase time
 * when revokeOnShutdown is off: a stop should not wait long on a GitHub
 * that is down for tokens nobody asked to revoke now.
 */
export const SHUTDOWN_RETRY_MS = 3_000;

/** Unrevoked tokens the daemon log names one by one; the audit log has every one. */
const LOGGED_TOKENS_MAX = 20;

export interface ShutdownParts {
  listeners: readonly RunningListener[];
  service: CredentialService;
  revoker: TokenRevoker;
  audit: AuditLog;
  log: Logger;
  revokeOnShutdown: boolean;
  /** Processes the providers started: none may outlive the daemon. */
  children?: ChildGroups;
  /** The config's shutdownTimeoutSeconds in ms; SHUTDOWN_BUDGET_MS when absent. */
  budgetMs?: number;
}

/** Runs the shutdown; resolves within the budget (plus a write of the audit log). */
export async function shutDown(parts: ShutdownParts): Promise<void> {
  const budgetMs = parts.budgetMs ?? SHUTDOWN_BUDGET_MS;
  const startedMs = performance.now();
  const leftMs = (): number => budgetMs - (performance.now() - startedMs);
  // Each socket stays until its lock goes, and refuses every new request
  // with when this daemon is gone: any client that reaches it learns so,
  // whatever its uid. The lock says the same to this user, and to helpers
  // of older releases (whose daemons removed the socket at once).
  const untilMs = Date.now() + budgetMs;
  for (const { socket, server } of parts.listeners) {
    markSocketLockStopping(socket, untilMs);
    server.refuseAsStopping({ pid: process.pid, untilMs });
  }

  await finishRequests(parts, leftMs(), untilMs);
  await revokeTokens(parts, leftMs(), untilMs);

  // Lines nothing waits for (a refresh-ahead's mint) may still be queued.
  parts.audit.flush();
  parts.log.info({ durationMs: Math.round(performance.now() - startedMs) }, 'daemon stopped');
}

/**
 * Waits for the requests in flight and the background refreshes, for at
 * most `waitMs`, then closes the sockets and lets go of their locks. Past
 * it (two GitHub calls in a row, each with its own 25 s, or a slow
 * `command` provider), the requests still in flight are cut off: each
 * client gets the cut-off reply, then its connection closes.
 */
async function finishRequests(
  parts: ShutdownParts,
  waitMs: number,
  untilMs: number,
): Promise<void> {
  const finished = (async () => {
    await Promise.all(parts.listeners.map(({ server }) => server.served()));
    await parts.service.drain();
    return true;
  })();
  // Still settles after the time is up, when nothing waits for it.
  finished.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, waitMs));
  });
  const done = await Promise.race([finished, timedOut]);
  clearTimeout(timer);
  // What is still running is no request's any more: a mint given up on, or
  // what a finished program left behind: none may outlive the daemon. The
  // abandoned request's client gets the cut-off reply below (sent before
  // the killed program's failure could answer it).
  parts.children?.killAll(
    parts.log,
    done
      ? 'the daemon is stopping, and it was left running by a credential command that had finished'
      : `the daemon's shutdown ran out of time (${Math.round(waitMs)} ms) while it ran`,
  );
  // Before the sockets go: git that cannot start a daemon waits a while
  // for the next one instead of failing in a restart's gap (stopped-mark.ts).
  for (const { socket } of parts.listeners) writeStoppedMark(socket);
  if (done) {
    await closeListeners(parts.listeners);
    return;
  }

  const inFlight = parts.listeners.reduce((sum, { server }) => sum + server.inFlight, 0);
  // Each gets the cut-off reply (its pid and the deadline that passed)
  // before its connection closes: a client of another uid cannot read
  // this log or the lock, and an unanswered close told it nothing.
  const cutOff = { pid: process.pid, untilMs };
  for (const { server } of parts.listeners) server.cutOff(cutOff);
  parts.log.warn(
    // `cutOff`: what `stop` reads here to say how many its shutdown cut off.
    { inFlight, cutOff: inFlight, waitedMs: Math.round(waitMs) },
    'stopping with requests still in flight: they did not finish within the time a shutdown has, and each of their clients gets an error',
  );
  // The socket (its file goes as it closes) and the lock are given up all
  // the same: the next daemon finds them free.
  for (const { server } of parts.listeners) void server.close();
  await Promise.all(parts.listeners.map(({ socket }) => releaseSocketPath(socket)));
}

/**
 * With revokeOnShutdown, revokes every live token this daemon minted;
 * without it, tries again the revocations that failed at erase time (for
 * SHUTDOWN_RETRY_MS at most). Either within `leftMs`, what is left of the
 * shutdown's time.
 */
async function revokeTokens(parts: ShutdownParts, leftMs: number, untilMs: number): Promise<void> {
  const { revoker, revokeOnShutdown } = parts;
  const failed = revoker.failedCount;
  if (!revokeOnShutdown && failed === 0) return;

  // Its sockets are gone: the note tells status and stop what it still does.
  const count = revokeOnShutdown ? revoker.size : failed;
  const sockets = count === 0 ? [] : parts.listeners.map(({ socket }) => socket);
  for (const socket of sockets) writeRevokingNote(socket, count, untilMs);
  try {
    await revoke(parts, leftMs, failed);
  } finally {
    for (const socket of sockets) removeRevokingNote(socket);
  }
}

async function revoke(parts: ShutdownParts, leftMs: number, failed: number): Promise<void> {
  const { revoker, log, revokeOnShutdown } = parts;

  const windowMs = Math.max(0, revokeOnShutdown ? leftMs : Math.min(SHUTDOWN_RETRY_MS, leftMs));
  const limit = new AbortController();
  const outOfTime = new BrokerError(
    'TIMEOUT',
    `the daemon stopped before the revocation was confirmed (its shutdown had ${(windowMs / 1000).toFixed(1)} s left for revocations); the token works until it expires`,
  );
  // Aborted at once when no time is left: nothing is then started only to be cut off.
  const timer = windowMs > 0 ? setTimeout(() => limit.abort(outOfTime), windowMs) : undefined;
  if (timer === undefined) limit.abort(outOfTime);
  const cause: RevocationCause = {
    reason: 'shutdown',
    requestId: 'shutdown',
    requester: { pid: process.pid, ppid: process.ppid },
    listener: null,
    log,
    signal: limit.signal,
  };

  let summary: RevocationSummary;
  try {
    summary = revokeOnShutdown ? await revoker.revokeAll(cause) : await revoker.retryFailed(cause);
  } finally {
    clearTimeout(timer);
  }

  const { revoked, unrevoked } = summary;
  if (revokeOnShutdown) {
    log.info({ revoked, unrevoked: unrevoked.length }, 'revoked live tokens at shutdown');
  } else {
    log.info({ failed, revoked }, 'retried the revocations that had failed');
  }
  if (unrevoked.length === 0) return;
  log.warn(
    {
      unrevoked: unrevoked.length,
      waitedMs: Math.round(windowMs),
      tokens: unrevoked.slice(0, LOGGED_TOKENS_MAX),
    },
    'tokens left unrevoked at shutdown: the revocation was refused, failed or not confirmed in time; each works until it expires, and the audit log has a token.failed line for each',
  );
}
