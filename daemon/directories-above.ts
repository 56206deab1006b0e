/**
 * The directories above a socket's directory, which every socket needs
 * safe, private or open to a group: whoever may rename entries in one of
 * them can move the socket's directory aside and put one of their own, with
 * an impostor socket, where git's helper connects. So each must belong to
 * root or the daemon's user, and be writable by no one else unless it has
 * the sticky bit (as /tmp has: there only an entry's owner may rename it).
 */
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { kernelFilesystemAt } from '../shared/make-directories.js';

const STICKY = 0o1000;

/** Where to put a socket instead of a kernel file system (/proc, /sys). */
export const SOCKET_FIX =
  'give the socket a path on an ordinary file system (with --socket, or the listener\'s "socket" in the config)';

/**
 * Refuses a socket directory that exists on a kernel file system (/proc,
 * /sys), where no socket can be made: its mode would say nothing about the
 * mistake (found in a new-user trial: /proc/self was refused as open to
 * other users, with a path under /proc/self as the fix).
 */
export function refuseKernelSocketDirectory(directory: string): void {
  const found = kernelFilesystemAt(directory);
  if (found === undefined) return;
  throw new ConfigError(
    `socket directory '${directory}' is on ${found.filesystem}, a file system the kernel makes up, where no socket can be made; ${SOCKET_FIX}`,
  );
}

export function describeDirectory(stats: Stats): string {
  return `mode ${(stats.mode & 0o7777).toString(8)}, owner uid ${stats.uid}, group ${stats.gid}`;
}

/** The directory the path names, symlinks resolved; a clear error when a link dangles. */
export function realDirectory(directory: string): string {
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

/**
 * Every directory above the socket's directory, each once: above the path
 * as written and above the path it resolves to (`real`), since a client
 * walks the links and the directories they point to.
 */
export function directoriesAbove(directory: string, real: string): string[] {
  const seen = new Set([real]);
  const above: string[] = [];
  for (const dir of [...chain(directory).slice(1), ...chain(real).slice(1)]) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    above.push(dir);
  }
  return above;
}

/** The chmod that takes away exactly the write bits others have. */
function writeFix(stats: Stats): string {
  const group = (stats.mode & 0o020) !== 0;
  const others = (stats.mode & 0o002) !== 0;
  return group && others ? 'go-w' : others ? 'o-w' : 'g-w';
}

/**
 * A directory quoted, and where it leads when it is a symbolic link: the
 * stats judged are the target's, and the fix is made there (found in a
 * new-user trial: a link to another user's directory was said to belong
 * to that user, with nothing to say it was a link).
 */
export function quoteDirectory(path: string): string {
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() !== true) return `'${path}'`;
  try {
    return `'${path}' (a symbolic link to '${realpathSync(path)}')`;
  } catch {
    return `'${path}' (a symbolic link)`;
  }
}

/** Refuses a directory above the socket's that someone else could rename entries in. */
export function checkNotReplaceable(
  above: string,
  stats: Stats,
  directory: string,
  uid: number,
): void {
  if (stats.uid !== 0 && stats.uid !== uid) {
    throw new ConfigError(
      `directory ${quoteDirectory(above)} above socket directory '${directory}' belongs to uid ${stats.uid}, who could move what is in it aside and put another socket in its place; put the socket under directories that only root or this user (uid ${uid}) own`,
    );
  }
  if ((stats.mode & 0o022) !== 0 && (stats.mode & STICKY) === 0) {
    const who = (stats.mode & 0o002) !== 0 ? 'every user' : `members of group ${stats.gid}`;
    throw new ConfigError(
      `directory ${quoteDirectory(above)} above socket directory '${directory}' is writable by ${who} and has no sticky bit (${describeDirectory(stats)}), so they could move what is in it aside and put another socket in its place; run: chmod ${writeFix(stats)} '${above}' (or chmod +t '${above}', as /tmp has), or put the socket elsewhere`,
    );
  }
}

/**
 * Refuses the socket's directory when a directory above it (as written or
 * resolved) is not safe from other users. No check without a uid (Windows).
 */
export function checkDirectoriesAbove(directory: string, real: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  for (const above of directoriesAbove(directory, real)) {
    checkNotReplaceable(above, statSync(above), directory, uid);
  }
}
