/**
 * The reply a daemon gives while it shuts down: it keeps its sockets open
 * until it lets go of its lock, answers the requests it had, and refuses
 * each new one with this, naming its pid and the time its shutdown ends at
 * the latest. A client of any uid that can reach a socket reads it there:
 * the lock beside the socket, which says the same, is readable by the
 * daemon's user alone (a sandbox on a listener socket could not tell a
 * restart from no daemon, and failed at once).
 *
 * It is an error reply of code DAEMON_UNREACHABLE with `error.stopping`
 * set, so a helper of an older release shows its message as it shows any
 * other unreachable daemon.
 */
import { DaemonStoppingError } from './errors.js';
import { isNotFarAhead } from './reply-shape.js';
import { encodeMessage, PROTOCOL_VERSION, type Reply, type WireError } from './protocol.js';

export type Stopping = NonNullable<WireError['stopping']>;

/** The reply line a stopping daemon gives every new request on `socketPath`. */
export function stoppingReplyLine(socketPath: string, stopping: Stopping): string {
  const until = new Date(stopping.untilMs).toISOString();
  return encodeMessage({
    v: PROTOCOL_VERSION,
    ok: false,
    error: {
      code: 'DAEMON_UNREACHABLE',
      message: `the broker daemon (pid ${stopping.pid}) on '${socketPath}' is stopping: it takes no new requests, and is gone by ${until} at the latest; a new daemon can start there then`,
      quit: false,
      stopping: { pid: stopping.pid, untilMs: stopping.untilMs },
    },
  });
}

/**
 * The reply a request still in flight gets when the shutdown's time is up:
 * the daemon stops before it could answer it. Code DAEMON_UNREACHABLE
 * without `stopping`, so a helper of an older release shows its message
 * and does not wait for a restart on its account.
 */
export function cutOffReplyLine(socketPath: string, cutOff: Stopping): string {
  return encodeMessage({
    v: PROTOCOL_VERSION,
    ok: false,
    error: {
      code: 'DAEMON_UNREACHABLE',
      message: cutOffMessage(socketPath, cutOff),
      quit: false,
      cutOff: { pid: cutOff.pid, untilMs: cutOff.untilMs },
    },
  });
}

/**
 * What a client whose request the shutdown cut off is told, by the
 * daemon's reply or, from a daemon of an older release that closed the
 * connection unanswered, by the daemon's lock (stuck-daemon.ts).
 */
export function cutOffMessage(socketPath: string, cutOff: Stopping, nowMs = Date.now()): string {
  const at = deadlineText(cutOff.untilMs, nowMs);
  const deadline = at === undefined ? 'its shutdown deadline' : `its shutdown deadline (${at})`;
  return `the broker daemon (pid ${cutOff.pid}) on '${socketPath}' stopped before it could answer this request: ${deadline} passed with the request still in flight, so it was cut off; run git again once the daemon is back`;
}

/** Before this, a deadline is no time a daemon of this project set: its clock, or its reply, is wrong. */
const EARLIEST_DEADLINE_MS = Date.UTC(2020, 0, 1);

/**
 * A deadline as the cut-off message shows it: the local time, with the date
 * when it is not today; undefined for no sane time (before 2020, not finite,
 * or far ahead), which the message then leaves out rather than print
 * "Invalid" or midnight of 1970.
 */
export function deadlineText(untilMs: number, nowMs = Date.now()): string | undefined {
  if (!Number.isFinite(untilMs) || untilMs < EARLIEST_DEADLINE_MS) return undefined;
  if (!isNotFarAhead(untilMs, nowMs)) return undefined;
  const at = new Date(untilMs);
  const time = at.toTimeString().slice(0, 8);
  if (at.toDateString() === new Date(nowMs).toDateString()) return time;
  const day = [at.getFullYear(), at.getMonth() + 1, at.getDate()]
    .map((part) => String(part).padStart(2, '0'))
    .join('-');
  return `${day} ${time}`;
}

/**
 * The `stopping` of an error reply line, checked; undefined for any other
 * line. Read from the line itself, since parseReply keeps only the fields
 * every release knows.
 */
export function stoppingOf(line: string): Stopping | undefined {
  return pidAndDeadline(line, 'stopping');
}

/**
 * The `cutOff` of an error reply line, its pid checked as `stopping`'s is;
 * undefined for any other line. Its deadline is only shown (deadlineText),
 * never waited for: one that is no sane time still marks a cut-off.
 */
export function cutOffOf(line: string): Stopping | undefined {
  return pidAndDeadline(line, 'cutOff');
}

function pidAndDeadline(line: string, field: 'stopping' | 'cutOff'): Stopping | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const error = (value as { error?: Record<string, unknown> } | null)?.error;
  const stopping = typeof error === 'object' && error !== null ? error[field] : undefined;
  if (typeof stopping !== 'object' || stopping === null) return undefined;
  const { pid, untilMs } = stopping as Record<string, unknown>;
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0) return undefined;
  if (field === 'cutOff') {
    return { pid: pid as number, untilMs: typeof untilMs === 'number' ? untilMs : Number.NaN };
  }
  // A shutdown takes minutes: a deadline years ahead is no stopping reply this release reads.
  if (!isNotFarAhead(untilMs)) return undefined;
  return { pid: pid as number, untilMs };
}

/** The error a stopping reply stands for, or undefined when `reply` is no such reply. */
export function stoppingError(reply: Reply): DaemonStoppingError | undefined {
  if (reply.ok || reply.error.stopping === undefined) return undefined;
  return new DaemonStoppingError(reply.error.message, reply.error.stopping);
}
