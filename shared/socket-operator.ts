/**
 * Whose daemon a socket is: a sandbox of another uid on a listener open to
 * its group cannot start, stop or restart the daemon there, so advice like
 * "start it with git-credential-broker daemon --detach" is advice it cannot
 * act on (found in a sandbox review). The daemon listens only in a
 * directory of its own user (socket-file.ts refuses any other), so the
 * socket's owner, or its directory's once the socket is gone, is the
 * daemon's user. Node built-ins only: the helper's `get` path loads this.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { printable } from './printable.js';

/** The user that runs the daemon on a socket, when it is not this user. */
export interface SocketOperator {
  uid: number;
  /** From /etc/passwd; undefined when the uid has no entry there. */
  name: string | undefined;
}

function ownerUid(path: string): number | undefined {
  try {
    return statSync(path).uid;
  } catch {
    return undefined;
  }
}

/** The login name of `uid` in /etc/passwd, if it has one. */
function userName(uid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && id !== '' && Number(id) === uid) return name;
    }
  } catch {
    // no /etc/passwd (a minimal container): the number will do
  }
  return undefined;
}

/**
 * The daemon's user on `socketPath` when it is another uid than this
 * process's: the owner of the socket (followed through links), or of its
 * directory when there is no socket. Undefined for this user's own socket,
 * and when neither can be seen (nothing to tell, so the usual advice).
 */
export function otherOperator(socketPath: string): SocketOperator | undefined {
  const self = process.geteuid?.();
  if (self === undefined) return undefined;
  const uid = ownerUid(socketPath) ?? ownerUid(dirname(socketPath));
  if (uid === undefined || uid === self) return undefined;
  return { uid, name: userName(uid) };
}

/** `user 'ci' (uid 1001)`, or `uid 1001` when it has no name. */
export function describeOperator(operator: SocketOperator): string {
  return operator.name === undefined
    ? `uid ${operator.uid}`
    : `user '${printable(operator.name, 100)}' (uid ${operator.uid})`;
}

/**
 * What a client of another uid is to do when the daemon there is not
 * serving: it cannot start it itself. Undefined for this user's socket, so
 * the caller gives its usual advice.
 */
export function askOperatorToStart(socketPath: string): string | undefined {
  const operator = otherOperator(socketPath);
  if (operator === undefined) return undefined;
  return `the daemon there is run by ${describeOperator(operator)}, not by this user, so it cannot be started from here: ask whoever operates it to start it, then run git again`;
}
