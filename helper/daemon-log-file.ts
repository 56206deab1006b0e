/**
 * Opens the file a detached daemon logs to, for appending, refusing what
 * is no regular file. A plain open(2) of a FIFO blocks until a reader
 * comes: `daemon --detach --log-file FIFO`, and git's autostart with a
 * FIFO at the default log path, hung for good (found in review). Every
 * other way the path can be wrong (a directory, a dangling symbolic link,
 * a file where a directory should be, no permission) is told in a
 * sentence with the fix, as a ConfigError: git stops (quit=1), as for
 * other setup problems, rather than report an internal error.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { makeDirectories } from '../shared/make-directories.js';
import { fileKind } from '../shared/regular-file.js';

// O_NONBLOCK: a FIFO's open returns at once (ENXIO without a reader) and
// fstat then refuses it; a regular file ignores the flag.
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK | constants.O_NOCTTY;
// A file created here: O_EXCL with O_NOFOLLOW creates no file at the end of
// a symbolic link that points nowhere (its target's place is not ours).
const CREATE = APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

const FIX = 'give --log-file a regular file, or set XDG_STATE_HOME to a directory of yours';
const PLACE_FIX =
  'give --log-file a path on an ordinary file system, or set XDG_STATE_HOME to a directory of yours';

function refuse(path: string, why: string, fix = FIX): ConfigError {
  return new ConfigError(`cannot write the broker daemon log '${path}': ${why}; ${fix}`);
}

/** The reason an open or mkdir failed, in words. */
function errnoText(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const at = (error as NodeJS.ErrnoException).path ?? path;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied on '${at}'`;
    case 'ENOTDIR':
      return `a part of the path is a file, not a directory ('${at}' or above it)`;
    case 'EEXIST':
      return `'${at}' is a file, not a directory`;
    case 'EISDIR':
      return 'it is a directory, not a regular file';
    case 'ELOOP':
      return 'too many symbolic links in the path';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENXIO':
      return `it is ${kindOf(path)}, not a regular file`;
    default:
      return code ?? 'unknown error';
  }
}

/** What `path` is (ENXIO: a FIFO without a reader, a socket, a device). */
function kindOf(path: string): string {
  try {
    return fileKind(statSync(path));
  } catch {
    return 'a named pipe (FIFO) or a device with nothing behind it';
  }
}

function makeDirectory(path: string): void {
  try {
    makeDirectories(dirname(path), `the broker daemon log '${path}'`, PLACE_FIX);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw refuse(path, `cannot create its directory: ${errnoText(dirname(path), error)}`);
  }
}

/** A dangling symbolic link at `path`: where it points, else undefined. */
function danglingTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

function openExisting(path: string): number | undefined {
  try {
    return openSync(path, APPEND);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw refuse(path, errnoText(path, error));
  }
  const target = danglingTarget(path);
  if (target !== undefined) {
    throw refuse(
      path,
      `it is a symbolic link to '${target}', which does not exist`,
      'remove the link or point it at a regular file',
    );
  }
  return undefined;
}

/**
 * An fd open for appending to the regular file at `path`, made (0600, in a
 * directory made 0700) when it is not there. A symbolic link to a regular
 * file is followed. Throws a ConfigError naming the path and the fix.
 */
export function openDaemonLog(path: string): number {
  makeDirectory(path);
  let fd = openExisting(path);
  if (fd === undefined) {
    try {
      fd = openSync(path, CREATE, 0o600);
    } catch (error) {
      // Made meanwhile by a peer launcher: use it as it is now.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw refuse(path, errnoText(path, error));
      }
      fd = openExisting(path);
      if (fd === undefined) throw refuse(path, 'it came and went while being opened');
    }
  }

  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw refuse(path, `it is ${fileKind(stats)}, not a regular file`);
  }
  return fd;
}
