/**
 * `daemon --detach --log-file PATH` where a daemon already runs: nothing
 * is started, so PATH is not where any daemon logs, and "already running"
 * alone let the user believe it was (found in a sandbox review). Says so,
 * where the running daemon logs when its lock says (this user's), and how
 * to apply PATH.
 */
import { resolve } from 'node:path';
import { printable, shellQuote } from '../../shared/printable.js';
import { samePath } from '../../shared/same-path.js';
import { lockedDaemonLog, lockOwnerPid } from '../../shared/socket-lock-state.js';

/** The warning for a --log-file the running daemon on `socketPath` does not use; undefined when it does. */
export function unappliedLogFile(socketPath: string, logFile: string): string | undefined {
  const wanted = resolve(logFile);
  const current = lockedDaemonLog(socketPath);
  if (current !== undefined && samePath(current, wanted)) return undefined;

  const pid = lockOwnerPid(socketPath);
  const daemon = pid === undefined ? 'the daemon' : `the daemon (pid ${pid})`;
  const where =
    current === undefined
      ? `where ${daemon} logs cannot be told here (one run in the foreground logs to its stderr)`
      : `${daemon} keeps logging to '${printable(current, 300)}'`;
  // Where every socket has a client policy, stop is refused: the signal does it.
  const kill = pid === undefined ? '' : `, or kill -TERM ${pid} if its sockets refuse stop`;
  return `--log-file '${printable(wanted, 300)}' was not applied, since a daemon already runs on '${printable(socketPath, 300)}': ${where}; to log to '${printable(wanted, 300)}', stop it (git-credential-broker stop --socket ${shellQuote(socketPath)}${kill}), then run this command again`;
}
