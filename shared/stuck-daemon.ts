/**
 * A daemon that hangs while it shuts down: its socket stays until it lets
 * go of its lock (see stopping-reply.ts), so a client connects and would
 * wait its whole timeout (60 s for git) for a reply that never comes.
 * Its lock, past the deadline it names, tells this user so at once. Loaded
 * only when a reply is slow.
 */
import { DaemonStoppingError, DaemonUnreachableError } from './errors.js';
import { revokingDaemons } from './revoking-note.js';
import { cutOffMessage } from './stopping-reply.js';
import { describeDeadline, stoppingDaemon, type StoppingDaemon } from './socket-lock-state.js';

/** Past its deadline by this much, a stopping daemon is stuck, not slow. */
export const STUCK_GRACE_MS = 2_000;

/** The error for a daemon stuck stopping on `socketPath`; undefined for any other. */
export function stuckStopping(socketPath: string): DaemonStoppingError | undefined {
  const stopping = stoppingDaemon(socketPath);
  if (stopping === undefined || Date.now() < stopping.untilMs + STUCK_GRACE_MS) return undefined;
  return new DaemonStoppingError(
    `the broker daemon (pid ${stopping.pid}) on '${socketPath}' is shutting down and does not answer past the end of its shutdown time (${describeDeadline(stopping.untilMs)}); it may hang: end it (kill -TERM ${stopping.pid}; kill -KILL ${stopping.pid} if that does not)`,
    stopping,
  );
}

/** The daemon shutting down on `socketPath`, as its lock or its revoking note says (this user's). */
export function windingDownOn(socketPath: string): StoppingDaemon | undefined {
  const stopping = stoppingDaemon(socketPath);
  if (stopping !== undefined) return stopping;
  const [revoking] = revokingDaemons(socketPath);
  return revoking === undefined ? undefined : { pid: revoking.pid, untilMs: revoking.untilMs };
}

/**
 * The error for a connection closed unanswered by a daemon whose shutdown
 * cut the request off (`seen`: stopping while the request waited, or now).
 * It read as "another program there is no broker daemon" (found in
 * review). Undefined when no daemon was seen shutting down there.
 */
export function cutOffByShutdown(
  socketPath: string,
  seen: StoppingDaemon | undefined,
): DaemonUnreachableError | undefined {
  const stopping = seen ?? windingDownOn(socketPath);
  if (stopping === undefined) return undefined;
  return new DaemonUnreachableError(cutOffMessage(socketPath, stopping));
}
