/**
 * Prepares the place the daemon listens on: a private directory and at most
 * one live daemon per socket path.
 */
import { connect } from 'node:net';
import { lstatSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sendRequest } from '../shared/daemon-client.js';
import { ConfigError, DaemonUnreachableError, VersionMismatchError } from '../shared/errors.js';
import { printable } from '../shared/printable.js';
import { PROTOCOL_VERSION } from '../shared/protocol.js';
import { removeDirectories } from '../shared/make-directories.js';
import { APP_DIR } from '../shared/paths.js';
import { ensureGroupDirectory } from './group-directory.js';
import { holderStopAdvice } from './holder-stop-advice.js';
import { ensurePrivateDirectory } from './private-directory.js';
import type { GroupAccess } from './socket-access.js';
import {
  chooseAnother,
  passingExample,
  setSocket,
  settingName,
  type SocketSetting,
} from './socket-advice.js';
import { releaseSocketLock, takeSocketLock } from './socket-lock.js';

export { ensurePrivateDirectory };

/** Resolves whether something accepts connections on the socket. */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path: socketPath });
    const done = (answers: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function kindOf(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a named pipe';
  return 'a device or other special file';
}

/**
 * Why the daemon cannot listen where something already does, named by how
 * it answers a ping: every broker daemon, of any release, answers in the
 * protocol (a refusal or "busy" included); another program does not; one
 * that says nothing may be either.
 */
async function whoListens(socketPath: string, setting: SocketSetting): Promise<string> {
  const choose = `or ${chooseAnother(setting)}`;
  let pid: number | undefined;
  try {
    const reply = await sendRequest(
      socketPath,
      { v: PROTOCOL_VERSION, op: 'ping' },
      PING_TIMEOUT_MS,
    );
    pid = reply.ok ? reply.pid : undefined;
  } catch (error) {
    if (error instanceof DaemonUnreachableError && error.notBroker) {
      return `something that is not a broker daemon is listening on '${socketPath}' (${printable(error.message, 300)}); stop that program, ${choose}`;
    }
    if (!(error instanceof VersionMismatchError)) {
      return `something is already listening on '${socketPath}' and did not answer as a broker daemon (${printable((error as Error).message, 300)}): a broker daemon that hangs, or another program; stop it, ${choose}`;
    }
  }
  return `another broker daemon is already listening on '${socketPath}'; stop it first (${holderStopAdvice(socketPath, pid)}), ${choose}`;
}

/** A ping does no work: a broker daemon answers it at once, even when busy. */
const PING_TIMEOUT_MS = 2000;

/**
 * Makes the socket path free to listen on: refuses while another daemon
 * holds it or answers there, and removes the file a crashed daemon left.
 * With `access`, its directory must let the group through instead of
 * being private. `setting` is where the path came from (`--socket`, or
 * `listeners[0].socket`), for the fixes.
 */
export async function claimSocketPath(
  socketPath: string,
  access?: GroupAccess,
  setting: SocketSetting = '--socket',
): Promise<void> {
  // Checked first: a directory given as --socket would otherwise be judged
  // by its parent's mode, which says nothing about the mistake.
  if (lstatSync(socketPath, { throwIfNoEntry: false })?.isDirectory() === true) {
    throw new ConfigError(
      `'${socketPath}' is a directory; ${directoryFix(socketPath, setting, access)}`,
    );
  }
  const made =
    access === undefined
      ? ensurePrivateDirectory(dirname(socketPath), basename(socketPath), setting)
      : ensureGroupDirectory(dirname(socketPath), access.group, basename(socketPath));
  try {
    await takeSocketPath(socketPath, setting);
  } catch (error) {
    removeDirectories(made);
    throw error;
  }
  created.set(socketPath, made);
}

/** Directories a claim made, by socket path, for a start that fails later. */
const created = new Map<string, string[]>();

/**
 * Removes the directories the claim of `socketPath` made, once the start
 * that made them has failed and let its sockets go: a failed start leaves
 * no empty directory behind. Any not empty is left.
 */
export function removeCreatedDirectories(socketPath: string): void {
  removeDirectories(created.get(socketPath) ?? []);
  created.delete(socketPath);
}

/**
 * What to give instead of a directory: a socket file's path, with an
 * example the checks would take (never a word about moving the directory:
 * others may need it, as /tmp).
 */
function directoryFix(directory: string, setting: SocketSetting, access?: GroupAccess): string {
  const wants = `${settingName(setting)} takes the socket file's path, not its directory's`;
  const own = access === undefined ? APP_DIR : access.group.name;
  const example = passingExample(
    [join(directory, 'daemon.sock'), join(directory, own, 'daemon.sock')],
    access !== undefined,
  );
  return example === undefined
    ? `${wants}: give it a socket file's path in a directory of your own`
    : `${wants}, for example ${setting === '--socket' ? setSocket(setting, example) : `"${example}"`}`;
}

async function takeSocketPath(socketPath: string, setting: SocketSetting): Promise<void> {
  takeSocketLock(socketPath, (pid) => holderStopAdvice(socketPath, pid), chooseAnother(setting));

  let stats;
  try {
    stats = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!stats.isSocket()) {
    releaseSocketLock(socketPath);
    throw new ConfigError(
      `'${socketPath}' exists and is not a socket but ${kindOf(stats)}: the broker did not create it, and the daemon will not replace it; move it away if nothing needs it, or ${chooseAnother(setting)}`,
    );
  }

  if (await socketAnswers(socketPath)) {
    releaseSocketLock(socketPath);
    throw new ConfigError(await whoListens(socketPath, setting));
  }
  unlinkSync(socketPath);
}

/** Gives the socket path up at shutdown: the lock, and the socket if left behind. */
export async function releaseSocketPath(socketPath: string): Promise<void> {
  releaseSocketLock(socketPath);
}
