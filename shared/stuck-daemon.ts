/**
 * A daemon that hangs while it shuts down: its socket stays until it lets
 * go of its lock (see stopping-reply.ts), so a client connects and would
 * wait its whole timeout (60 s for git) for a reply that never comes.
 * Its lock, past the deadline it names, tells this user so at once. Loaded
 * only when a reply is slow.
 */
import { DaemonStoppingError } from './errors.js';
import { describeDeadline, stoppingDaemon } from './socket-lock-state.js';

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
