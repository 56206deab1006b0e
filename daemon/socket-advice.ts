/**
 * Example socket paths for a refusal's fix, and how to name the setting the
 * refused path came from. An example is given only when the daemon's own
 * checks would pass it as things are now (found in a new-user trial: the
 * fix for --socket /proc/self/d.sock was a path under /proc/self, and the
 * fix for a listener at /tmp was --socket '/tmp/daemon.sock', both refused
 * in turn).
 */
import { accessSync, constants, lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { kernelFilesystemAt } from '../shared/make-directories.js';
import { checkDirectoriesAbove, checkNotReplaceable, realDirectory } from './directories-above.js';
import { checkLinksOnPath } from './links-on-path.js';

/** The nearest directory at or above `path` that exists. */
function nearestExisting(path: string): string {
  let dir = path;
  while (lstatSync(dir, { throwIfNoEntry: false }) === undefined && dirname(dir) !== dir) {
    dir = dirname(dir);
  }
  return dir;
}

/**
 * Whether the daemon would take `socketPath` now: nothing at the path, no
 * kernel file system, no link of another user on the way, and its
 * directory either this user's and closed to others (`shared`: not
 * writable by others, for a socket open to a group) or one this user can
 * create under directories no one else can replace. Creates nothing.
 */
export function socketPathPasses(socketPath: string, shared = false): boolean {
  const uid = process.getuid?.();
  const directory = dirname(socketPath);
  try {
    if (lstatSync(socketPath, { throwIfNoEntry: false }) !== undefined) return false;
    if (kernelFilesystemAt(directory) !== undefined) return false;
    checkLinksOnPath(socketPath);
    const existing = nearestExisting(directory);
    const stats = statSync(existing);
    if (!stats.isDirectory()) return false;
    if (existing === directory) {
      if (uid !== undefined && stats.uid !== uid) return false;
      if ((stats.mode & (shared ? 0o022 : 0o077)) !== 0) return false;
    } else {
      accessSync(existing, constants.W_OK | constants.X_OK);
      if (uid !== undefined) checkNotReplaceable(existing, stats, directory, uid);
    }
    checkDirectoriesAbove(existing, realDirectory(existing));
    return true;
  } catch {
    return false;
  }
}

/** The first of `candidates` the daemon would take now, if any. */
export function passingExample(candidates: readonly string[], shared = false): string | undefined {
  return candidates.find((candidate) => socketPathPasses(candidate, shared));
}

/**
 * Where a socket path was set, for the fix: `--socket`, or a listener's
 * `socket` in the config (`listeners[0].socket`).
 */
export type SocketSetting = string;

/** "give --socket X" or "set listeners[0].socket in the config to X", with X quoted as there. */
export function setSocket(setting: SocketSetting, path: string): string {
  return setting === '--socket' ? `--socket '${path}'` : `"${path}" as ${setting} in the config`;
}

/** "--socket" or "listeners[0].socket in the config", for a sentence. */
export function settingName(setting: SocketSetting): string {
  return setting === '--socket' ? '--socket' : `${setting} in the config`;
}

/** The fix of choosing another path, worded for where the path came from. */
export function chooseAnother(setting: SocketSetting): string {
  return setting === '--socket'
    ? 'choose another path with --socket'
    : `give ${settingName(setting)} another path`;
}
