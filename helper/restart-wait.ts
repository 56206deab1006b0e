/**
 * Waiting out a restart without autostart: git asked on a socket whose
 * daemon is shutting down (its reply says so, or for a daemon of an older
 * release that removed its socket at once, its lock), and nothing here may start
 * one (a sandbox on a listener socket, or autostart off). A supervisor or
 * the operator starts the next daemon; git waits for it, within bounds,
 * rather than fail at once with "no daemon is listening" (found in a
 * new-user trial: every sandbox git command failed during a restart).
 * Loaded only on that failure path.
 */
import { sendRequest } from '../shared/daemon-client.js';
import { DaemonStoppingError, DaemonUnreachableError } from '../shared/errors.js';
import { shellQuote } from '../shared/printable.js';
import { describeOperator, otherOperator } from '../shared/socket-operator.js';
import { PROTOCOL_VERSION } from '../shared/protocol.js';
import { describeDeadline, stoppingDaemon } from '../shared/socket-lock-state.js';
import { stoppingError } from '../shared/stopping-reply.js';
import { RESTART_WINDOW_MS, recentlyStopped } from '../shared/stopped-mark.js';
import { STOPPING_WAIT_MAX_MS } from './daemon-launcher.js';

/** Beyond the old daemon's deadline: for whoever restarts it to have the new one listening. */
export const RESTART_GRACE_MS = 5_000;
const POLL_MS = 100;
const PING_TIMEOUT_MS = 2_000;

/**
 * Resolves once a daemon answers on `socketPath` again. Throws `original`
 * when no daemon is stopping there (nothing to wait for), and a message
 * naming the stopping daemon when none answers in time.
 */
export async function waitThroughRestart(
  socketPath: string,
  original: Error,
  maxWaitMs = STOPPING_WAIT_MAX_MS,
): Promise<void> {
  // Its own reply says so to every user; its lock, to the daemon's user.
  const stopping =
    original instanceof DaemonStoppingError
      ? { pid: original.pid, untilMs: original.untilMs }
      : stoppingDaemon(socketPath);
  if (stopping === undefined) return waitForNextDaemon(socketPath, original);
  const startedMs = Date.now();
  const deadlineMs = Math.min(stopping.untilMs + RESTART_GRACE_MS, startedMs + maxWaitMs);
  if (await answeredBy(socketPath, deadlineMs)) return;
  const waited = `${Math.round((Date.now() - startedMs) / 1000)} s`;
  throw new DaemonUnreachableError(
    `the broker daemon (pid ${stopping.pid}) on '${socketPath}' was shutting down (${describeDeadline(stopping.untilMs)}) and no daemon answered there since; waited ${waited}. ${nextOneAdvice(socketPath)}`,
    { noDaemon: true },
  );
}

/**
 * No daemon, none stopping, but one stopped there moments ago (its mark,
 * stopped-mark.ts): a restart's gap. Waits out the rest of its window for
 * the next one; throws `original` when there is no such mark.
 */
async function waitForNextDaemon(socketPath: string, original: Error): Promise<void> {
  const stopped = recentlyStopped(socketPath);
  if (stopped === undefined) throw original;
  const startedMs = Date.now();
  if (await answeredBy(socketPath, stopped.atMs + RESTART_WINDOW_MS)) return;
  const waited = `${Math.round((Date.now() - startedMs) / 1000)} s`;
  throw new DaemonUnreachableError(
    `the broker daemon (pid ${stopped.pid}) on '${socketPath}' stopped at ${new Date(stopped.atMs).toLocaleTimeString('en-GB', { hour12: false })} and no daemon has started there since; waited ${waited}. ${nextOneAdvice(socketPath)}`,
    { noDaemon: true },
  );
}

/**
 * Who is to start the next daemon: this user, or, on a socket of another
 * user's (a sandbox on a listener), whoever operates that daemon.
 */
function nextOneAdvice(socketPath: string): string {
  const operator = otherOperator(socketPath);
  if (operator !== undefined) {
    return `It is run by ${describeOperator(operator)}, not by this user, so the next one cannot be started from here: ask whoever operates it to start it, then run git again`;
  }
  return `Whoever runs it (a supervisor, or git-credential-broker daemon --detach --socket ${shellQuote(socketPath)}) has not started the next one: start it, then run git again`;
}

/** Whether a daemon that serves requests answers on `socketPath` before `deadlineMs`. */
async function answeredBy(socketPath: string, deadlineMs: number): Promise<boolean> {
  while (Date.now() < deadlineMs) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      // Any answer but the stopping one, even a refusal, comes from a
      // daemon that serves requests.
      const reply = await sendRequest(
        socketPath,
        { v: PROTOCOL_VERSION, op: 'ping' },
        PING_TIMEOUT_MS,
      );
      if (stoppingError(reply) === undefined) return true;
    } catch {
      // not back yet
    }
  }
  return false;
}
