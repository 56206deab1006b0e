/**
 * What a daemon's socket lock tells others: which daemon holds it, and
 * whether that daemon is stopping. Taking and freeing the lock is the
 * daemon's (daemon/socket-lock.ts); the helper reads it too, to tell a
 * daemon that is shutting down from none at all.
 *
 * The lock is a directory beside the socket, `<socket>.lock`, holding one
 * entry, `owner-<pid>-<nonce>`. The entry is empty while its daemon starts
 * and serves. When the daemon's shutdown begins, its socket file is gone
 * at once but the lock stays until the requests in flight are answered;
 * the daemon then appends one line to its entry, `stopping <untilMs>`: the
 * time (ms since the epoch) by which its shutdown ends at the latest. An
 * append to an empty file, so a reader finds either nothing or the whole
 * line, never a half-written lock; and the entry's name, which the lock's
 * rules go by, does not change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mayBeBrokerDaemon } from './process-arguments.js';

export const OWNER_ENTRY = /^owner-(\d+)-[0-9a-f]{16}$/;

export function lockPath(socketPath: string): string {
  return `${socketPath}.lock`;
}

/** The line a stopping daemon appends to its owner entry. */
export function stoppingMark(untilMs: number): string {
  return `stopping ${Math.ceil(untilMs)}\n`;
}

/** The time a stopping mark names; undefined for an entry without one. */
export function readStoppingMark(text: string): number | undefined {
  // Anywhere in the entry: a log line (logMark) may come first.
  const until = /^stopping (\d+)$/m.exec(text)?.[1];
  return until === undefined ? undefined : Number(until);
}

/**
 * The variable through which the launcher tells a detached daemon the file
 * its output goes to (the default for its socket, or --log-file), so that
 * its lock entry can say so: messages and `stop` named the default log of
 * a daemon started with --log-file elsewhere (found in review).
 */
export const DAEMON_LOG_ENV = 'GIT_CREDENTIAL_BROKER_DAEMON_LOG';

/** The line a daemon writes first in its owner entry: where it logs (private to its user, as the lock is). */
export function logMark(logPath: string): string {
  return `log ${JSON.stringify(logPath)}\n`;
}

/** The log the daemon holding `socketPath`'s lock writes, as its entry says; undefined when it does not say. */
export function lockedDaemonLog(socketPath: string): string | undefined {
  try {
    const lock = lockPath(socketPath);
    const entries = readdirSync(lock);
    if (entries.length !== 1 || !OWNER_ENTRY.test(entries[0]!)) return undefined;
    const line = /^log (".*")$/m.exec(readFileSync(join(lock, entries[0]!), 'utf8'))?.[1];
    const path = line === undefined ? undefined : (JSON.parse(line) as unknown);
    return typeof path === 'string' && path !== '' ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a process runs that may be the lock's daemon; a zombie (killed,
 * not yet reaped) does not, nor a process that is plainly something else
 * (the pid reused since, after a reboot say).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed daemon stays a zombie until its parent reaps it, which in a
  // container may be never; on Linux, /proc tells the two apart.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return false;
  } catch {
    return true;
  }
  return mayBeBrokerDaemon(pid);
}

/** A daemon that holds the socket's lock while it shuts down. */
export interface StoppingDaemon {
  pid: number;
  /** When its shutdown ends at the latest, ms since the epoch. */
  untilMs: number;
}

/**
 * The daemon holding `socketPath`'s lock, if it is alive and has marked
 * itself stopping; undefined for anything else (no lock, a daemon starting
 * or serving, one of an older release, a lock that cannot be read).
 */
export function stoppingDaemon(socketPath: string): StoppingDaemon | undefined {
  const lock = lockPath(socketPath);
  let entries: string[];
  try {
    entries = readdirSync(lock);
  } catch {
    return undefined;
  }
  const [entry, ...more] = entries;
  const pid = entry === undefined ? undefined : OWNER_ENTRY.exec(entry)?.[1];
  if (pid === undefined || more.length > 0) return undefined;
  let untilMs: number | undefined;
  try {
    untilMs = readStoppingMark(readFileSync(join(lock, entry!), 'utf8'));
  } catch {
    return undefined;
  }
  if (untilMs === undefined || !processAlive(Number(pid))) return undefined;
  return { pid: Number(pid), untilMs };
}

/** Further ahead than any shutdown lasts. */
const FAR_FUTURE_MS = 24 * 60 * 60 * 1000;

/** A stopping daemon's deadline, as a person reads it: local time and seconds from now. */
export function describeUntil(untilMs: number, nowMs = Date.now()): string {
  // A lock file's word: 8.64e15 printed a time and a 17-digit count of seconds.
  if (!Number.isFinite(untilMs) || untilMs - nowMs > FAR_FUTURE_MS) return 'far in the future';
  const seconds = Math.round((untilMs - nowMs) / 1000);
  const when = seconds >= 0 ? `in ${seconds} s` : `${-seconds} s ago`;
  return `${new Date(untilMs).toTimeString().slice(0, 8)}, ${when}`;
}

/**
 * The deadline as a phrase of its own: "within 5 s, by 10:02:39 at the latest",
 * or, once past, "its deadline 10:02:39 passed 5 s ago" (found in a
 * new-user trial: "by 10:02:39, 5 s ago at the latest" read badly).
 */
export function describeDeadline(untilMs: number, nowMs = Date.now()): string {
  const seconds = Math.round((untilMs - nowMs) / 1000);
  const time = new Date(untilMs).toTimeString().slice(0, 8);
  return seconds >= 0
    ? `within ${seconds} s, by ${time} at the latest`
    : `its deadline ${time} passed ${-seconds} s ago`;
}

/**
 * The pid the socket's lock names, alive or not; undefined when there is no
 * lock, or not one of this release's (a directory with one owner entry).
 * Lets `stop` say who holds a socket that never answers.
 */
export function lockOwnerPid(socketPath: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync(lockPath(socketPath));
  } catch {
    return undefined;
  }
  const pid = entries.length === 1 ? OWNER_ENTRY.exec(entries[0]!)?.[1] : undefined;
  return pid === undefined ? undefined : Number(pid);
}
