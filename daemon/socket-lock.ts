/**
 * The lock that keeps one live daemon per socket path: a directory beside
 * the socket, `<socket>.lock`, holding one entry, `owner-<pid>-<nonce>`.
 *
 * Each step that changes the lock is one rename(2) or unlink(2), so no
 * competitor ever sees a lock half made, or removes one it did not judge:
 * - Taking it: the owner entry is made in a staging directory of our own,
 *   which is then renamed to the lock's path. rename(2) onto a missing path
 *   or an empty directory succeeds, onto a directory with an entry it
 *   fails: the lock never exists without its owner. (A lock file created
 *   first and written after could be read empty, and a competitor then
 *   removed it as stale while its owner went on to listen.)
 * - Taking over: the entry of an owner that is gone (killed, crashed) is
 *   unlinked by its name. The nonce makes the name belong to that one lock,
 *   so a competitor that judged the same lock stale and comes second finds
 *   nothing to remove; unlinking the lock by its path would have removed
 *   the winner's lock by then.
 * - An empty lock directory is free: its owner let go, or a competitor
 *   freed it, and the next rename takes it.
 */
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { printable } from '../shared/printable.js';
import {
  describeDeadline,
  lockPath,
  OWNER_ENTRY,
  processAlive,
  readStoppingMark,
  stoppingMark,
  DAEMON_LOG_ENV,
  logMark,
} from '../shared/socket-lock-state.js';

export { lockPath, processAlive };

/**
 * Releases before this one locked with a file holding the pid, created
 * first and written after: one found without a pid may belong to such a
 * daemon still starting, and counts as held for this long after it was
 * last written. Older, its daemon died between the two steps.
 */
export const LEGACY_LOCK_GRACE_MS = 10_000;

/** Rounds of take-judge-free before giving up: each round lets a competitor win. */
const MAX_ROUNDS = 8;

/** The owner entry this process holds, by socket path. */
const held = new Map<string, string>();

/** What stands at the lock's path, and what a starter may do about it. */
type Holder =
  | { kind: 'free' }
  /** `stoppingUntilMs`: it is shutting down, and holds the lock until then at the latest. */
  | { kind: 'live'; pid: number; stoppingUntilMs?: number }
  /** A lock file of an older release that has no pid in it yet. */
  | { kind: 'starting' }
  | { kind: 'stale'; free: () => void }
  | { kind: 'foreign'; what: string }
  /** The lock could not be read: the system's error code, and what to do. */
  | { kind: 'unreadable'; code: string; path: string };

/** A read of the lock that failed for a reason other than the lock going away. */
function unreadable(error: unknown, path: string): Holder {
  const code = (error as NodeJS.ErrnoException).code ?? 'an unknown error';
  // Gone between the look and the read: the next round takes it.
  return code === 'ENOENT' ? { kind: 'free' } : { kind: 'unreadable', code, path };
}

/** Ignores a path that is gone, or that is a directory (unlink never removes one). */
function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  }
}

function judgeOwner(pid: number, free: () => void, entryPath?: string): Holder {
  // Our own pid in a lock we do not hold: one this process took before and
  // never let go (a daemon started again in the same process).
  if (pid === process.pid || !processAlive(pid)) return { kind: 'stale', free };
  let stoppingUntilMs: number | undefined;
  try {
    stoppingUntilMs =
      entryPath === undefined ? undefined : readStoppingMark(readFileSync(entryPath, 'utf8'));
  } catch {
    // Gone since: the next round finds the lock free.
  }
  return stoppingUntilMs === undefined
    ? { kind: 'live', pid }
    : { kind: 'live', pid, stoppingUntilMs };
}

function judge(lock: string): Holder {
  const stats = lstatSync(lock, { throwIfNoEntry: false });
  if (stats === undefined) return { kind: 'free' };

  if (stats.isDirectory()) {
    let entries: string[];
    try {
      entries = readdirSync(lock);
    } catch (error) {
      return unreadable(error, lock);
    }
    const [entry, ...more] = entries;
    if (entry === undefined) return { kind: 'free' };
    const pid = OWNER_ENTRY.exec(entry)?.[1];
    if (pid === undefined || more.length > 0) {
      return { kind: 'foreign', what: `'${printable(entries.slice(0, 3).join("', '"), 200)}'` };
    }
    // unlink(2) never removes a directory: it could not be freed, ever.
    if (lstatSync(join(lock, entry), { throwIfNoEntry: false })?.isDirectory() === true) {
      return { kind: 'foreign', what: `a directory named '${entry}', not an owner entry` };
    }
    return judgeOwner(Number(pid), () => unlinkIfThere(join(lock, entry)), join(lock, entry));
  }

  if (stats.isFile()) {
    let text: string;
    try {
      text = readFileSync(lock, 'utf8');
    } catch (error) {
      return unreadable(error, lock);
    }
    const free = (): void => unlinkIfThere(lock);
    if (/^\d+$/.test(text.trim())) return judgeOwner(Number(text.trim()), free);
    const ageMs = Date.now() - stats.mtimeMs;
    return ageMs < LEGACY_LOCK_GRACE_MS ? { kind: 'starting' } : { kind: 'stale', free };
  }

  return { kind: 'foreign', what: 'neither a file nor a directory' };
}

/** Renames the staging directory to the lock; false while something holds the lock's path. */
function tryRename(staging: string, lock: string): boolean {
  try {
    renameSync(staging, lock);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A directory with an entry (ENOTEMPTY, or EEXIST on some systems), or a file.
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
      return false;
    }
    throw error;
  }
}

/** Removes staging directories that starters killed between their two steps left behind. */
function sweepStaging(lock: string): void {
  const prefix = `${basename(lock)}.`;
  for (const name of readdirSync(dirname(lock))) {
    if (!name.startsWith(prefix)) continue;
    const pid = OWNER_ENTRY.exec(name.slice(prefix.length))?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !processAlive(Number(pid))) {
      rmSync(join(dirname(lock), name), { recursive: true, force: true });
    }
  }
}

/**
 * Takes the socket's lock, or throws a ConfigError naming who holds it.
 * Many daemons started at once (autostart from parallel git processes) race
 * here, and exactly one wins; a lock whose owner is gone is taken over.
 */
export function takeSocketLock(
  socketPath: string,
  stopAdvice: (pid: number) => string,
  elsewhere = 'choose another path with --socket',
): void {
  const lock = lockPath(socketPath);
  const owner = `owner-${process.pid}-${randomBytes(8).toString('hex')}`;
  const staging = `${lock}.${owner}`;
  try {
    takeLock(socketPath, stopAdvice, elsewhere, lock, owner, staging);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof ConfigError || (code !== 'EACCES' && code !== 'EPERM')) throw error;
    throw new ConfigError(
      `cannot take the lock '${lock}': ${code} on '${printable(String((error as NodeJS.ErrnoException).path ?? lock), 300)}'; the directory '${dirname(lock)}' and the lock in it must be writable by the user who runs the daemon`,
    );
  }
}

function takeLock(
  socketPath: string,
  stopAdvice: (pid: number) => string,
  elsewhere: string,
  lock: string,
  owner: string,
  staging: string,
): void {
  mkdirSync(staging, { mode: 0o700 });
  try {
    // Set by the launcher of a detached daemon only; see DAEMON_LOG_ENV.
    const logPath = process.env[DAEMON_LOG_ENV];
    const entry = logPath === undefined || logPath === '' ? '' : logMark(logPath);
    writeFileSync(join(staging, owner), entry, { mode: 0o600 });
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (tryRename(staging, lock)) {
        held.set(socketPath, owner);
        sweepStaging(lock);
        return;
      }
      const holder = judge(lock);
      switch (holder.kind) {
        case 'live':
          if (holder.stoppingUntilMs !== undefined) {
            // Not "holds": the launcher waits for a peer that "holds" the
            // socket to answer, and this one never will.
            throw new ConfigError(
              `another broker daemon (pid ${holder.pid}) is stopping on '${socketPath}': it holds the socket's lock until it has answered its requests in flight (${describeDeadline(holder.stoppingUntilMs)}); start this one once it has let go (git-credential-broker daemon --detach waits for that)`,
            );
          }
          throw new ConfigError(
            `another broker daemon (pid ${holder.pid}) holds '${socketPath}'; stop it first (${stopAdvice(holder.pid)}), or ${elsewhere}`,
          );
        case 'starting':
          throw new ConfigError(
            `another broker daemon is starting on '${socketPath}' (its lock '${lock}' has no pid yet); wait for it, or remove the lock if no daemon runs`,
          );
        case 'unreadable':
          throw new ConfigError(
            `cannot read the lock '${holder.path}' (${holder.code}); make it and '${dirname(lock)}' readable by the user who runs the daemon, or remove the lock if no daemon runs on '${socketPath}'`,
          );
        case 'foreign':
          throw new ConfigError(
            `'${lock}' is not a broker daemon's lock (it holds ${holder.what}); remove it if no daemon runs on '${socketPath}'`,
          );
        case 'stale':
          holder.free();
          break;
        case 'free':
          break;
      }
    }
    throw new ConfigError(
      `cannot take the lock '${lock}': other daemons kept taking it while starting on '${socketPath}'; try again`,
    );
  } finally {
    // Gone once renamed; left only when the lock was not taken.
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Marks the lock this process holds on `socketPath` as its daemon's while
 * it shuts down, until `untilMs` at the latest, so that a helper or
 * starter finding no socket knows to wait for it rather than report no
 * daemon or a stale socket. Best effort: a lock that cannot be written only
 * leaves the others with the plainer message.
 */
export function markSocketLockStopping(socketPath: string, untilMs: number): void {
  const owner = held.get(socketPath);
  if (owner === undefined) return;
  try {
    appendFileSync(join(lockPath(socketPath), owner), stoppingMark(untilMs));
  } catch {
    // See above.
  }
}

/** Lets go of the lock this process took on `socketPath`, if it did. */
export function releaseSocketLock(socketPath: string): void {
  const owner = held.get(socketPath);
  if (owner === undefined) return;
  held.delete(socketPath);

  const lock = lockPath(socketPath);
  unlinkIfThere(join(lock, owner));
  try {
    rmdirSync(lock);
  } catch {
    // Gone, or already taken by the next daemon (no longer empty).
  }
}
