/**
 * A daemon's last phase, told to `status`, `stop` and `reload`: it has
 * answered its requests and let go of its sockets and locks (a new daemon
 * may start there already), and now revokes tokens at GitHub before it
 * exits. Nothing answers on its socket meanwhile, which read as "not
 * running" and "no daemon was running" (found in review).
 *
 * The note is a file beside the socket, `<socket>.revoking-<pid>`, holding
 * one line, `revoking <count> <untilMs>`, written whole before the
 * revocations start and removed once they end. Best effort both ways: one
 * left by a daemon that was killed names a pid that is gone, and is read as
 * no note.
 */
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './socket-lock-state.js';

export interface RevokingDaemon {
  pid: number;
  /** Tokens it set out to revoke. */
  count: number;
  /** When its shutdown ends at the latest, ms since the epoch. */
  untilMs: number;
}

function notePath(socketPath: string, pid: number): string {
  return `${socketPath}.revoking-${pid}`;
}

/** Leaves the note for this process on `socketPath`; never throws. */
export function writeRevokingNote(socketPath: string, count: number, untilMs: number): void {
  try {
    writeFileSync(notePath(socketPath, process.pid), `revoking ${count} ${Math.ceil(untilMs)}\n`, {
      mode: 0o600,
    });
  } catch {
    // Only status and stop say less.
  }
}

/** Removes this process's note on `socketPath`, if any. */
export function removeRevokingNote(socketPath: string): void {
  try {
    unlinkSync(notePath(socketPath, process.pid));
  } catch {
    // Gone, or never written.
  }
}

/** The daemons still revoking that stopped on `socketPath`, oldest deadline first. */
export function revokingDaemons(socketPath: string): RevokingDaemon[] {
  const prefix = `${basename(socketPath)}.revoking-`;
  let names: string[];
  try {
    names = readdirSync(dirname(socketPath));
  } catch {
    return [];
  }
  const found: RevokingDaemon[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isSafeInteger(pid) || pid <= 0 || !processAlive(pid)) continue;
    let text: string;
    try {
      text = readFileSync(join(dirname(socketPath), name), 'utf8');
    } catch {
      continue;
    }
    const match = /^revoking (\d+) (\d+)\n/.exec(text);
    if (match === null) continue;
    found.push({ pid, count: Number(match[1]), untilMs: Number(match[2]) });
  }
  return found.sort((a, b) => a.untilMs - b.untilMs);
}
