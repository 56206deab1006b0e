/**
 * The directory of a socket only this user may reach: created 0700, or
 * checked when it exists, with the directories above it
 * (directories-above.ts) and the links on the way (links-on-path.ts).
 */
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { makeDirectories, removeDirectories } from '../shared/make-directories.js';
import { APP_DIR } from '../shared/paths.js';
import {
  checkDirectoriesAbove,
  realDirectory,
  refuseKernelSocketDirectory,
  SOCKET_FIX,
} from './directories-above.js';
import { checkLinksOnPath } from './links-on-path.js';
import { passingExample, setSocket, settingName, type SocketSetting } from './socket-advice.js';

/**
 * Creates the socket's directory 0700, or checks an existing one. Returns
 * the directories it made, outermost first, for a start that fails to
 * remove again; when a check fails, it removes them itself. `setting` is
 * where the path came from, for the fix.
 */
export function ensurePrivateDirectory(
  directory: string,
  socketName = 'daemon.sock',
  setting: SocketSetting = '--socket',
): string[] {
  // Before any mkdir too: nothing is made where another user's link leads.
  checkLinksOnPath(join(directory, socketName));
  const made = makeDirectories(directory, `socket directory '${directory}'`, SOCKET_FIX);
  try {
    checkLinksOnPath(join(directory, socketName));
    refuseKernelSocketDirectory(directory);
    checkPrivateDirectory(directory, socketName, setting);
    checkDirectoriesAbove(directory, realDirectory(directory));
  } catch (error) {
    removeDirectories(made);
    throw error;
  }
  return made;
}

function checkPrivateDirectory(
  directory: string,
  socketName: string,
  setting: SocketSetting,
): void {
  const stats = statSync(directory);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new ConfigError(
      `socket directory '${directory}' belongs to uid ${stats.uid}, not to this user (uid ${uid}); give ${settingName(setting)} a path in a directory of your own`,
    );
  }
  if ((stats.mode & 0o077) === 0) return;

  const mode = (stats.mode & 0o7777).toString(8);
  throw new ConfigError(
    `socket directory '${directory}' is accessible to other users (mode ${mode}); ${openDirectoryFix(directory, socketName, setting)}`,
  );
}

/**
 * A chmod only for the broker's own directory: any other may be shared on
 * purpose (/tmp, /run, a home directory others may read), so the socket
 * gets a directory of its own in it instead, when the checks would take one.
 */
function openDirectoryFix(directory: string, socketName: string, setting: SocketSetting): string {
  if (basename(directory) === APP_DIR) return `run: chmod 700 '${directory}'`;
  const example = passingExample([join(directory, APP_DIR, socketName)]);
  return example === undefined
    ? `give ${settingName(setting)} a path in a directory of your own that only you can reach`
    : `put the socket in a directory of its own, for example ${setSocket(setting, example)}`;
}
