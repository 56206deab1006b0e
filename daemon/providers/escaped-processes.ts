/**
 * Finds the processes a credential program started that left its process
 * group, where Linux lets that be known for sure: one that moved to a group
 * of its own but stayed in the program's session (the program is spawned
 * detached, so it leads a session whose id is its pid), and one that holds
 * the program's output socket (its write end is passed on only by
 * inheritance from the program, or on purpose by it). Neither can be
 * anything the program did not start: a session id and a socket are not
 * handed to strangers. A process that started a session of its own and
 * closed its output (`setsid prog </dev/null >/dev/null 2>&1 &`) leaves no
 * such trace; Node cannot be a subreaper, so it escapes (README, Security).
 *
 * Read from /proc, synchronously (the daemon's 'exit' handler uses it);
 * elsewhere than Linux, nothing is found.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A process as found, with its start time to tell it from a later one with its pid. */
export interface FoundProcess {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot). */
  startTicks: string;
}

interface Stat {
  pgid: number;
  sid: number;
  startTicks: string;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may hold spaces: fields start after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); pgrp is field 5, session 6, starttime 22.
    if (fields[0] === 'Z') return undefined;
    return { pgid: Number(fields[2]), sid: Number(fields[3]), startTicks: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** A live process's start time, to tell it from a later one with its pid. */
export function startTicksOf(pid: number): string | undefined {
  return readStat(pid)?.startTicks;
}

function livePids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

/** The kernel's name of what `pid` has open as `fd` (`socket:[123]`). */
function openFileOf(pid: number, fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function holds(pid: number, file: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => openFileOf(pid, Number(fd)) === file);
}

/** A process found outside its program's group, and by what trace. */
export interface EscapedProcess extends FoundProcess {
  /** The program's session it stayed in, or the program's output it holds. */
  via: { session: number } | { output: string };
}

/**
 * Live processes in one of `sessions` (but not leading it) or holding one
 * of `outputs`: one scan of /proc for all of them. `sessions` are the
 * programs' pids; the programs and their groups are the caller's to signal.
 */
export function findEscaped(
  sessions: ReadonlySet<number>,
  outputs: ReadonlySet<string>,
): EscapedProcess[] {
  const found: EscapedProcess[] = [];
  if (sessions.size === 0 && outputs.size === 0) return found;
  for (const pid of livePids()) {
    const stat = readStat(pid);
    // A program's group is its pid, and the caller's to signal.
    if (stat === undefined || sessions.has(stat.pgid)) continue;
    if (sessions.has(stat.sid)) {
      found.push({ pid, startTicks: stat.startTicks, via: { session: stat.sid } });
      continue;
    }
    const output = [...outputs].find((file) => holds(pid, file));
    if (output !== undefined) found.push({ pid, startTicks: stat.startTicks, via: { output } });
  }
  return found;
}

/**
 * Signals a found process if it is still the one found (same start time):
 * a pid freed and reused between the scan and now is left alone.
 */
export function signalFound(found: FoundProcess, signal: NodeJS.Signals): boolean {
  if (readStat(found.pid)?.startTicks !== found.startTicks) return false;
  try {
    process.kill(found.pid, signal);
    return true;
  } catch {
    return false;
  }
}
