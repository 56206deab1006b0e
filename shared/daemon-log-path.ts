/**
 * The daemon's own log when it runs detached. Apart from paths.ts, which
 * the helper's get path loads: this needs node:crypto, and only the
 * commands that start a daemon (and autostart) need it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lockedDaemonLog } from './socket-lock-state.js';
import { APP_DIR, home, nonEmpty, resolveSocketPath, SOCKET_ENV, type Env } from './paths.js';

/**
 * Where `daemon --detach` (without --log-file) and autostart send the log
 * of the daemon on `socketPath`: $XDG_STATE_HOME (default ~/.local/state)
 * /git-credential-broker/daemon.log for the default socket, and
 * daemon-<12 hex digits of the SHA-256 of the socket's absolute path>.log
 * for any other. One file per socket: two detached daemons used to share
 * daemon.log, and what one command read there as its daemon's words could
 * be the other's.
 */
export function defaultDaemonLogPath(env: Env, socketPath: string): string {
  const socket = resolve(socketPath);
  let name = `daemon-${createHash('sha256').update(socket).digest('hex').slice(0, 12)}.log`;
  try {
    if (resolve(resolveSocketPath({ ...env, [SOCKET_ENV]: undefined })) === socket) {
      name = 'daemon.log';
    }
  } catch {
    // No usable default socket (a path too long): the socket is another.
  }
  return join(nonEmpty(env.XDG_STATE_HOME) ?? join(home(env), '.local', 'state'), APP_DIR, name);
}

/**
 * The log a detached daemon on `socketPath` most likely writes (the
 * default for that socket), only when that file exists: a message names no
 * file that is not there (a daemon run in the foreground logs to stderr,
 * one given --log-file elsewhere).
 */
export function existingDaemonLog(env: Env, socketPath: string): string | undefined {
  // What the daemon there says it logs to (this user's lock), first.
  const path = lockedDaemonLog(socketPath) ?? defaultDaemonLogPath(env, socketPath);
  return existsSync(path) ? path : undefined;
}

/** "its log 'PATH'" when that file exists, else where else its log went. */
export function itsLog(env: Env, socketPath: string): string {
  const path = existingDaemonLog(env, socketPath);
  return path === undefined
    ? 'its log (where its stderr went, or the file given to --log-file)'
    : `its log '${path}'`;
}
