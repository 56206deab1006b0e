/**
 * The directory of a socket open to a group, and every directory above it:
 * its members must be able to reach the socket (search permission, judged
 * as the kernel judges it for them), and no one but this user and root may
 * be able to replace any of them (or a member could move the socket's
 * directory aside and put a socket of its own in its place).
 */
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  realpathSync,
  rmdirSync,
  statSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import type { UnixGroup } from './unix-groups.js';

const GROUP_DIRECTORY_MODE = 0o710;
const STICKY = 0o1000;

/**
 * Whether a member of `gid` who is neither the owner nor root may search
 * the directory. The kernel picks one class: a member of the directory's
 * own group gets the group bits, whatever the others' bits say (0701 keeps
 * them out). Members of `gid` may be in other groups too; that cannot be
 * known here, so a directory of another group is judged by the others' bits.
 */
export function groupMaySearch(stats: Pick<Stats, 'mode' | 'gid'>, gid: number): boolean {
  return stats.gid === gid ? (stats.mode & 0o010) !== 0 : (stats.mode & 0o001) !== 0;
}

function describeDirectory(stats: Stats): string {
  return `mode ${(stats.mode & 0o7777).toString(8)}, owner uid ${stats.uid}, group ${stats.gid}`;
}

/**
 * Creates the missing levels of the socket's directory 0710, given to the
 * group: members may pass through, not list or write. Returns what it made,
 * outermost first, so that a start that fails can remove it again.
 */
function createGroupDirectories(directory: string, group: UnixGroup): string[] {
  const missing: string[] = [];
  for (let dir = directory; !lstatSync(dir, { throwIfNoEntry: false }); dir = dirname(dir)) {
    missing.unshift(dir);
  }
  const made: string[] = [];
  const previous = process.umask(0o077);
  try {
    for (const dir of missing) {
      mkdirSync(dir, { mode: 0o700 });
      made.push(dir);
      // chown before chmod: never searchable by another group, even briefly.
      chownSync(dir, -1, group.gid);
      chmodSync(dir, GROUP_DIRECTORY_MODE);
    }
  } catch (error) {
    removeDirectories(made);
    throw error;
  } finally {
    process.umask(previous);
  }
  return made;
}

/** Removes directories a start made, innermost first; leaves any not empty. */
export function removeDirectories(made: readonly string[]): void {
  for (const dir of [...made].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty, or gone: what is left is named by the error being thrown.
    }
  }
}

/** The directory the path names, symlinks resolved; a clear error when a link dangles. */
function realDirectory(directory: string): string {
  try {
    return realpathSync(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    if (code === 'ENOENT') {
      throw new ConfigError(
        `socket directory '${directory}' is a symbolic link (or passes through one) to a directory that does not exist; create the directory it points to, or give the socket another path`,
      );
    }
    throw new ConfigError(`cannot resolve socket directory '${directory}': ${code}`);
  }
}

/** `directory` and every directory above it, up to /. */
function chain(directory: string): string[] {
  const dirs = [directory];
  for (let dir = directory; dirname(dir) !== dir; dir = dirname(dir)) dirs.push(dirname(dir));
  return dirs;
}

/** Refuses a directory above the socket's that someone else could rename entries in. */
function checkNotReplaceable(above: string, stats: Stats, directory: string, uid: number): void {
  if (stats.uid !== 0 && stats.uid !== uid) {
    throw new ConfigError(
      `directory '${above}' above socket directory '${directory}' belongs to uid ${stats.uid}, who could move what is in it aside and put another socket in its place; put the socket under directories that only root or this user (uid ${uid}) own`,
    );
  }
  if ((stats.mode & 0o022) !== 0 && (stats.mode & STICKY) === 0) {
    const who = (stats.mode & 0o002) !== 0 ? 'every user' : `members of group ${stats.gid}`;
    throw new ConfigError(
      `directory '${above}' above socket directory '${directory}' is writable by ${who} and has no sticky bit (${describeDirectory(stats)}), so they could move what is in it aside and put another socket in its place; run: chmod go-w '${above}' (or chmod +t '${above}', as /tmp has), or put the socket elsewhere`,
    );
  }
}

function checkSearchable(above: string, stats: Stats, directory: string, group: UnixGroup): void {
  if (groupMaySearch(stats, group.gid)) return;
  const fix =
    stats.gid === group.gid
      ? `chmod g+x '${above}' (its group is '${group.name}', so its members get the group's bits, not the others')`
      : `chmod o+x '${above}' (or: chgrp ${group.name} '${above}' && chmod g+x '${above}')`;
  throw new ConfigError(
    `directory '${above}' above socket directory '${directory}' does not let group '${group.name}' through (${describeDirectory(stats)}), so its members cannot reach the socket; run: ${fix}, or put the socket elsewhere`,
  );
}

/**
 * Where to put the socket instead of a directory that is not this user's
 * alone. Never a chmod: the daemon did not create that directory, and
 * others may need it as it is (/tmp, /var/tmp, /dev/shm, a team's
 * directory). Under a sticky directory, as those are, a directory of its
 * own is safe: only its owner can rename it.
 */
function ownDirectoryAdvice(
  directory: string,
  stats: Stats,
  group: UnixGroup,
  socketName: string,
): string {
  const created = `which the daemon creates 0710 for group '${group.name}'`;
  if ((stats.mode & STICKY) !== 0) {
    return `put the socket in a directory of its own, ${created}, for example '${join(directory, group.name, socketName)}'`;
  }
  return `put the socket in a directory of its own, ${created}, under a directory only root or this user can write to`;
}

function checkSocketDirectory(
  directory: string,
  group: UnixGroup,
  uid: number | undefined,
  socketName: string,
): void {
  const stats = statSync(directory);
  if (uid !== undefined && stats.uid !== uid) {
    throw new ConfigError(
      `socket directory '${directory}' belongs to uid ${stats.uid}, not to this user (uid ${uid}); ${ownDirectoryAdvice(directory, stats, group, socketName)}`,
    );
  }
  if ((stats.mode & 0o022) !== 0) {
    throw new ConfigError(
      `socket directory '${directory}' is writable by other users (${describeDirectory(stats)}), who could replace the socket; ${ownDirectoryAdvice(directory, stats, group, socketName)}`,
    );
  }
  if (!groupMaySearch(stats, group.gid)) {
    throw new ConfigError(
      `socket directory '${directory}' does not let group '${group.name}' reach the socket (${describeDirectory(stats)}); run: chgrp ${group.name} '${directory}' && chmod 710 '${directory}'`,
    );
  }
}

/**
 * Makes sure the group's members can reach the socket and no one else can
 * replace the way to it. The path is checked as written and as resolved:
 * a member walks the links and the directories they point to. A directory
 * it did not create is only checked, never changed; those it created are
 * removed again when a check fails; on success, they are returned, for a
 * start that fails later to remove.
 */
export function ensureGroupDirectory(
  directory: string,
  group: UnixGroup,
  socketName = 'daemon.sock',
): string[] {
  const made = createGroupDirectories(directory, group);
  try {
    const real = realDirectory(directory);
    const uid = process.getuid?.();
    checkSocketDirectory(real, group, uid, socketName);

    const seen = new Set([real]);
    for (const above of [...chain(directory).slice(1), ...chain(real).slice(1)]) {
      if (seen.has(above)) continue;
      seen.add(above);
      const stats = statSync(above);
      if (uid !== undefined) checkNotReplaceable(above, stats, directory, uid);
      checkSearchable(above, stats, directory, group);
    }
    return made;
  } catch (error) {
    removeDirectories(made);
    throw error;
  }
}
