/**
 * The processes the daemon's providers start (a `command` provider's
 * program, per mint), each in a process group of its own, so that one
 * signal reaches the program and whatever it started. The daemon kills
 * every group still alive when its shutdown has given up on the requests
 * in flight and when it exits for any reason: no process it started
 * outlives it: neither its group, nor what left the group but can be
 * traced to it for sure (escaped-processes.ts). Not covered: a SIGKILL of
 * the daemon itself, which runs no code, and a process that started a
 * session of its own with its output closed, which leaves no trace (a
 * supervisor that kills the whole cgroup, as systemd and docker do, covers
 * both).
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import {
  findEscaped,
  signalFound,
  startTicksOf,
  type EscapedProcess,
} from './escaped-processes.js';

/** What the log says of a child: metadata only, never its output or arguments. */
export interface ChildFacts {
  integration: string;
  /** The program (argv[0]), as the audit log names it. */
  command: string;
  repository: string;
}

export interface ChildGroup {
  /**
   * Signals the whole group, and what left it but stayed in the program's
   * session or holds its output; false when none of it is left.
   */
  signal(signal: NodeJS.Signals): boolean;
  /**
   * Tells that the program's request is answered, and whether something
   * still held the program's output then: the group is followed on while
   * anything of it lives, so that the daemon's stop finds it.
   */
  settled(outputHeld: boolean): void;
  /** Why the daemon killed it, if it did. */
  readonly killedFor: string | undefined;
}

interface Entry extends ChildFacts {
  pid: number;
  /** The program's own start time: its session is ours only while that matches. */
  startTicks: string | undefined;
  startedMs: number;
  /** The program's output (`socket:[inode]`), while it may be open. */
  output: string | undefined;
  /** Its request is answered: from then on the entry goes once nothing of it lives. */
  settled?: boolean;
  /** Its group ended while something it started lived on outside it. */
  leftBehind?: boolean;
  killedFor?: string;
}

/** Sends `signal` to the process group `pgid`; false when no process of it is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    // EPERM: a member that changed its user; nothing the daemon may do.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ChildGroups {
  /** By process group id: the child's pid, as it was spawned detached. */
  readonly #groups = new Map<number, Entry>();

  /** Groups known to be alive (or not yet found gone). */
  get size(): number {
    return this.#groups.size;
  }

  /**
   * Follows a child spawned with `detached: true` (its own process group),
   * whose output is `output` (a kernel name, output-socket.ts). The group
   * stays followed after its request is answered while anything of it
   * lives (a background process it left), and is dropped once none does.
   */
  track(child: ChildProcess, facts: ChildFacts, output?: string): ChildGroup {
    this.#prune();
    const pid = child.pid;
    if (pid === undefined) {
      // Never started (ENOENT, EACCES): nothing to signal.
      return { signal: () => false, settled: () => undefined, killedFor: undefined };
    }
    const entry: Entry = {
      ...facts,
      pid,
      startTicks: startTicksOf(pid),
      startedMs: performance.now(),
      output,
    };
    this.#groups.set(pid, entry);
    return {
      signal: (signal) => {
        const group = signalGroup(pid, signal);
        const escaped = this.#escapedFrom([entry]);
        for (const found of escaped) signalFound(found, signal);
        return group || escaped.length > 0;
      },
      settled: (outputHeld) => {
        entry.settled = true;
        // Closed for good otherwise: nothing to look for in /proc.
        if (!outputHeld) entry.output = undefined;
        this.#groups.set(pid, entry);
        if (signalGroup(pid, 0)) return;
        if (this.#escapedFrom([entry]).length > 0) entry.leftBehind = true;
        else this.#groups.delete(pid);
      },
      get killedFor() {
        return entry.killedFor;
      },
    };
  }

  /**
   * SIGKILLs every group still alive and names each in the log. Synchronous,
   * so that it can run in the process's 'exit' handler too.
   */
  killAll(log: Logger, why: string): number {
    let killed = 0;
    // Found before the groups die: a process in a program's session is told
    // apart from a stranger by its leader, the program, while that lives.
    const escaped = this.#escapedFrom([...this.#groups.values()]);
    for (const [pgid, entry] of this.#groups) {
      this.#groups.delete(pgid);
      entry.killedFor ??= why;
      if (!signalGroup(pgid, 'SIGKILL')) continue;
      killed++;
      log.warn(
        {
          pid: pgid,
          integration: entry.integration,
          command: entry.command,
          repository: entry.repository,
          runningMs: Math.round(performance.now() - entry.startedMs),
          signal: 'SIGKILL',
        },
        `killed a credential command and its process group: ${why}`,
      );
    }
    for (const found of escaped) {
      const entry = found.entry;
      if (!signalFound(found, 'SIGKILL')) continue;
      killed++;
      log.warn(
        {
          pid: found.pid,
          programPid: entry.pid,
          integration: entry.integration,
          command: entry.command,
          repository: entry.repository,
          found:
            'session' in found.via ? "in the program's session" : "holding the program's output",
          signal: 'SIGKILL',
        },
        `killed a process a credential command started that had left its process group: ${why}`,
      );
    }
    return killed;
  }

  /** What left these entries' groups, found in /proc, each with its entry. */
  #escapedFrom(entries: Entry[]): (EscapedProcess & { entry: Entry })[] {
    const bySession = new Map<number, Entry>();
    const byOutput = new Map<string, Entry>();
    for (const entry of entries) {
      // A session whose leader is alive but is not the program (its pid
      // reused) is a stranger's; one whose leader is gone keeps its id only
      // while a process of it lives, so its members are the program's.
      const leader = startTicksOf(entry.pid);
      if (leader === undefined || leader === entry.startTicks) bySession.set(entry.pid, entry);
      if (entry.output !== undefined) byOutput.set(entry.output, entry);
    }
    return findEscaped(new Set(bySession.keys()), new Set(byOutput.keys())).map((found) => ({
      ...found,
      entry: ('session' in found.via
        ? bySession.get(found.via.session)
        : byOutput.get(found.via.output))!,
    }));
  }

  /**
   * Drops groups found empty. A group id is a pid, which the system may
   * reuse once no process of the group is left: checked on each new child,
   * so an entry is never much older than the last look.
   */
  #prune(): void {
    const leftBehind: Entry[] = [];
    for (const [pgid, entry] of this.#groups) {
      // A request still running keeps its entry, whatever its group does.
      if (entry.settled !== true || signalGroup(pgid, 0)) continue;
      if (entry.leftBehind === true) leftBehind.push(entry);
      else this.#groups.delete(pgid);
    }
    // One scan of /proc, and only while something was left behind.
    if (leftBehind.length === 0) return;
    const alive = new Set(this.#escapedFrom(leftBehind).map(({ entry }) => entry));
    for (const entry of leftBehind) if (!alive.has(entry)) this.#groups.delete(entry.pid);
  }
}
