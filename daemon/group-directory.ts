/**
 * The directory of a socket open to a group, and every directory above it:
 * its members must be able to reach the socket (search permission, judged
 * as the kernel judges it for them), and no one but this user and root may
 * be able to replace any of them (or a member could move the socket's
 * directory aside and put a socket of its own in its place).
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { refuseKernelFilesystem, removeDirectories } from '../shared/make-directories.js';
import {
  checkNotReplaceable,
  describeDirectory,
  directoriesAbove,
  quoteDirectory,
  realDirectory,
  refuseKernelSocketDirectory,
  SOCKET_FIX,
} from './directories-above.js';
import { checkLinksOnPath } from './links-on-path.js';
import { passingExample } from './socket-advice.js';
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

/**
 * Creates the missing levels of the socket's directory 0710, given to the
 * group: members may pass through, not list or write. Returns what it made,
 * outermost first, so that a start that fails can remove it again.
 */
function createGroupDirectories(directory: string, group: UnixGroup): string[] {
  refuseKernelFilesystem(directory, `socket directory '${directory}'`, SOCKET_FIX);
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

function checkSearchable(above: string, stats: Stats, directory: string, group: UnixGroup): void {
  if (groupMaySearch(stats, group.gid)) return;
  const fix =
    stats.gid === group.gid
      ? `chmod g+x '${above}' (its group is '${group.name}', so its members get the group's bits, not the others')`
      : `chmod o+x '${above}' (or: chgrp ${group.name} '${above}' && chmod g+x '${above}')`;
  throw new ConfigError(
    `directory ${quoteDirectory(above)} above socket directory '${directory}' does not let group '${group.name}' through (${describeDirectory(stats)}), so its members cannot reach the socket; run: ${fix}, or put the socket elsewhere`,
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
  const example =
    (stats.mode & STICKY) === 0
      ? undefined
      : passingExample([join(directory, group.name, socketName)], true);
  if (example !== undefined) {
    return `put the socket in a directory of its own, ${created}, for example '${example}'`;
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
  // Before any mkdir too: nothing is made where another user's link leads.
  checkLinksOnPath(join(directory, socketName));
  const made = createGroupDirectories(directory, group);
  try {
    checkLinksOnPath(join(directory, socketName));
    refuseKernelSocketDirectory(directory);
    const real = realDirectory(directory);
    const uid = process.getuid?.();
    checkSocketDirectory(real, group, uid, socketName);

    for (const above of directoriesAbove(directory, real)) {
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
