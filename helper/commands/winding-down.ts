/**
 * What `status`, `stop` and `reload` say when no daemon serves on a socket
 * but one is still winding down there: stopping (it answers its requests in
 * flight and refuses new ones, as its reply or its lock says), or past that,
 * revoking tokens after it let go of the socket (its note says). Found in
 * review: they said "not running", "no daemon was running" and "start it"
 * while the old daemon was still at work.
 */
import { DaemonStoppingError, DaemonUnreachableError } from '../../shared/errors.js';
import { shellQuote } from '../../shared/printable.js';
import { describeOperator, otherOperator } from '../../shared/socket-operator.js';
import { revokingDaemons } from '../../shared/revoking-note.js';
import { describeDeadline, stoppingDaemon } from '../../shared/socket-lock-state.js';

export type WindingDown =
  | { kind: 'stopping'; pid: number; untilMs: number }
  | { kind: 'revoking'; pid: number; untilMs: number; count: number };

/**
 * The daemon winding down on `socketPath`, when `error` says no daemon
 * serves there; undefined when none is (or the error is another).
 */
export function windingDown(socketPath: string, error: unknown): WindingDown | undefined {
  if (error instanceof DaemonStoppingError) {
    return { kind: 'stopping', pid: error.pid, untilMs: error.untilMs };
  }
  if (!(error instanceof DaemonUnreachableError) || !error.noDaemon) return undefined;
  const locked = stoppingDaemon(socketPath);
  if (locked !== undefined) return { kind: 'stopping', ...locked };
  const [revoking] = revokingDaemons(socketPath);
  return revoking === undefined ? undefined : { kind: 'revoking', ...revoking };
}

function tokens(count: number): string {
  return count === 1 ? '1 token' : `${count} tokens`;
}

/** What it is doing, and by when it is gone, as a person reads it. */
export function describeWindingDown(socketPath: string, winding: WindingDown): string {
  const by = describeDeadline(winding.untilMs);
  return winding.kind === 'stopping'
    ? `the broker daemon (pid ${winding.pid}) on '${socketPath}' is stopping: it takes no new requests, and exits once it has finished those in flight and its revocations, ${by}`
    : `the broker daemon (pid ${winding.pid}) that served '${socketPath}' has stopped serving and is revoking ${tokens(winding.count)} at GitHub before it exits, ${by}; no daemon serves there now`;
}

/** How to have a daemon serve there again (another user's: by asking that user). */
export function startAgain(socketPath: string, winding: WindingDown): string {
  const operator = otherOperator(socketPath);
  if (operator !== undefined) {
    return `it is run by ${describeOperator(operator)}, not by this user, so the next one cannot be started from here: ask whoever operates it to start it, then run git again`;
  }
  const start = `git-credential-broker daemon --detach --socket ${shellQuote(socketPath)}`;
  return winding.kind === 'stopping'
    ? `start a new one once it has let go of the socket (${start} waits for that)`
    : `a new one may start there now (${start})`;
}

/** `reload`'s refusal: there is no daemon whose config could be reloaded. */
export function cannotReload(socketPath: string, winding: WindingDown): DaemonUnreachableError {
  return new DaemonUnreachableError(
    `cannot reload: ${describeWindingDown(socketPath, winding)}, so no daemon there has a config to reload; ${startAgain(socketPath, winding)}, and it reads the config as it is then`,
    { noDaemon: true },
  );
}

/** What `status --json` adds: `stopping` (true) or `revoking` (the count), the pid, and its deadline. */
export function windingJson(
  winding: WindingDown,
):
  | { stopping: true; pid: number; untilMs: number }
  | { revoking: number; pid: number; untilMs: number } {
  return winding.kind === 'stopping'
    ? { stopping: true, pid: winding.pid, untilMs: winding.untilMs }
    : { revoking: winding.count, pid: winding.pid, untilMs: winding.untilMs };
}
