/**
 * The processes the daemon's providers start (a `command` provider's
 * program, per mint), each in a process group of its own, so that one
 * signal reaches the program and whatever it started. The daemon kills
 * every group still alive when its shutdown has given up on the requests
 * in flight and when it exits for any reason: no process it started
 * outlives it. A SIGKILL of the daemon itself is the one case no code of
 * it runs in (a supervisor that kills the whole cgroup, as systemd and
 * docker do, covers that).
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

/** What the log says of a child: metadata only, never its output or arguments. */
export interface ChildFacts {
  integration: string;
  /** The program (argv[0]), as the audit log names it. */
  command: string;
  repository: string;
}

export interface ChildGroup {
  /** Signals the whole group; false when it is gone. */
  signal(signal: NodeJS.Signals): boolean;
  /** Why the daemon killed it, if it did. */
  readonly killedFor: string | undefined;
}

interface Entry extends ChildFacts {
  pid: number;
  startedMs: number;
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
   * Follows a child spawned with `detached: true` (its own process group).
   * The group stays followed after the child exits while anything in it
   * lives (a background process it left), and is dropped once empty.
   */
  track(child: ChildProcess, facts: ChildFacts): ChildGroup {
    this.#prune();
    const pid = child.pid;
    if (pid === undefined) {
      // Never started (ENOENT, EACCES): nothing to signal.
      return { signal: () => false, killedFor: undefined };
    }
    const entry: Entry = { ...facts, pid, startedMs: performance.now() };
    this.#groups.set(pid, entry);
    child.once('close', () => {
      if (!signalGroup(pid, 0)) this.#groups.delete(pid);
    });
    return {
      signal: (signal) => signalGroup(pid, signal),
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
    return killed;
  }

  /**
   * Drops groups found empty. A group id is a pid, which the system may
   * reuse once no process of the group is left: checked on each new child,
   * so an entry is never much older than the last look.
   */
  #prune(): void {
    for (const pgid of this.#groups.keys()) {
      if (!signalGroup(pgid, 0)) this.#groups.delete(pgid);
    }
  }
}
