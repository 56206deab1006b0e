/**
 * A restart's gap, told to the clients that cannot start a daemon: between
 * the old daemon letting go of its socket and the next one listening (a
 * supervisor's restart delay, or `stop` then `daemon --detach` typed by
 * hand), nothing answers and nothing is stopping. A sandbox's git failed
 * at once there (found in a new-user trial: every restart of an idle
 * daemon failed sandbox fetches), while the README promises that a
 * restart does not fail git.
 *
 * So a daemon that stops leaves `<socket>.stopped` beside each socket, one
 * line `stopped <pid> <atMs>`, readable by whoever may use the socket (the
 * socket's group for a listener, as the directory already lets through),
 * and the next daemon removes it once it listens. git that finds no daemon
 * but a mark younger than RESTART_WINDOW_MS waits for the rest of that
 * window. A daemon that crashed leaves no mark: git fails at once, as it
 * did. Best effort both ways: a mark that cannot be written or read only
 * means no wait.
 */
import { chmodSync, chownSync, lstatSync, unlinkSync, writeFileSync } from 'node:fs';
import { readRegularFileSync } from './regular-file.js';

/** How long after a daemon stopped git waits for the next one. */
export const RESTART_WINDOW_MS = 15_000;

/** Beyond one line of three small fields: no mark. */
const MAX_MARK_BYTES = 100;

export interface StoppedDaemon {
  pid: number;
  /** When it let go of the socket, ms since the epoch. */
  atMs: number;
}

export function stoppedMarkPath(socketPath: string): string {
  return `${socketPath}.stopped`;
}

/**
 * Leaves the mark for this process beside `socketPath`, with the socket's
 * group and group read access when the socket has group access. Called
 * before the socket goes, so that no client finds neither. Never throws.
 */
export function writeStoppedMark(socketPath: string, atMs = Date.now()): void {
  const path = stoppedMarkPath(socketPath);
  try {
    const socket = lstatSync(socketPath, { throwIfNoEntry: false });
    // A fresh file, never one someone put there: unlink, then create exclusively.
    unlinkIfThere(path);
    writeFileSync(path, `stopped ${process.pid} ${Math.floor(atMs)}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    if (socket !== undefined && (socket.mode & 0o060) !== 0) {
      // The group first, then the mode: never open to a group it is not for.
      chownSync(path, -1, socket.gid);
      chmodSync(path, 0o640);
    }
  } catch {
    // Only a sandbox's git waits less: it fails at once, as before.
  }
}

/** Removes the mark beside `socketPath`, if any: a daemon listens there now. */
export function removeStoppedMark(socketPath: string): void {
  unlinkIfThere(stoppedMarkPath(socketPath));
}

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone, or never written.
  }
}

/**
 * The daemon that stopped on `socketPath` within the last RESTART_WINDOW_MS,
 * as its mark says, or undefined: no mark, an old one, or one this release
 * does not read.
 */
export function recentlyStopped(socketPath: string, nowMs = Date.now()): StoppedDaemon | undefined {
  let text: string;
  try {
    text = readRegularFileSync(stoppedMarkPath(socketPath), MAX_MARK_BYTES).toString('utf8');
  } catch {
    return undefined;
  }
  const match = /^stopped (\d{1,10}) (\d{1,15})\n$/.exec(text);
  if (match === null) return undefined;
  const stopped = { pid: Number(match[1]), atMs: Number(match[2]) };
  // A mark from the future is a clock that moved, or no mark of ours.
  if (stopped.atMs > nowMs + 1000 || nowMs >= stopped.atMs + RESTART_WINDOW_MS) return undefined;
  return stopped;
}
