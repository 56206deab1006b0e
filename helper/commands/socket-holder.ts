/**
 * What answers on a socket path: nothing, a broker daemon (with its status,
 * when the socket is one it answers `status` on), or something else. Lets
 * `daemon --detach` tell a daemon it can leave running from a path it must
 * not touch.
 */
import { readlinkSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendRequest } from '../../shared/daemon-client.js';
import { ConfigError, DaemonUnreachableError, VersionMismatchError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { processArguments } from '../../shared/process-arguments.js';
import { PROTOCOL_VERSION, type DaemonStatus } from '../../shared/protocol.js';
import { stoppingDaemon } from '../../shared/socket-lock-state.js';
import { isDaemonStatus, isRecord, statusShapeProblem } from './status-shape.js';

export type SocketHolder =
  | { kind: 'nothing' }
  /** No socket any more, but a daemon shutting down still holds its lock. */
  | { kind: 'stopping'; pid: number; untilMs: number }
  /** A broker daemon that answered status. */
  | { kind: 'daemon'; status: DaemonStatus }
  /** A broker daemon of another release: another protocol version, or a status of another shape. */
  | { kind: 'other-release'; version: string | undefined; reason: string }
  /** A broker daemon that refused status: a listener with a client policy. */
  | { kind: 'restricted'; refusal: string }
  /** A broker daemon that answered status with an error other than a refusal. */
  | { kind: 'failed'; answer: string }
  /** Something that does not answer as a broker daemon does. */
  | { kind: 'other'; reason: string };

/** Long enough for a busy daemon; a status call does no GitHub work. */
const STATUS_TIMEOUT_MS = 5000;

export async function socketHolder(socketPath: string): Promise<SocketHolder> {
  let reply;
  try {
    reply = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' }, STATUS_TIMEOUT_MS);
  } catch (error) {
    if (error instanceof DaemonUnreachableError && error.noDaemon) {
      const stopping = stoppingDaemon(socketPath);
      return stopping === undefined ? { kind: 'nothing' } : { kind: 'stopping', ...stopping };
    }
    if (error instanceof VersionMismatchError) {
      return { kind: 'other-release', version: undefined, reason: error.message };
    }
    return { kind: 'other', reason: (error as Error).message };
  }
  if (!reply.ok && reply.error.stopping !== undefined) {
    return { kind: 'stopping', ...reply.error.stopping };
  }
  // Only a client policy refuses status (DENIED); an INTERNAL, AUDIT or
  // BAD_REQUEST answer is a daemon failing, not a listener (found in review).
  if (!reply.ok && reply.error.code === 'DENIED') {
    return { kind: 'restricted', refusal: reply.error.message };
  }
  if (!reply.ok) {
    return {
      kind: 'failed',
      answer: `${reply.error.code}: ${printable(reply.error.message, 400)}`,
    };
  }
  if (reply.status === undefined) {
    return { kind: 'other', reason: 'it answered status without one' };
  }
  // Its fields reach messages and decisions: a status of another shape is
  // another release's (or no broker's), never read as this one's.
  const status: unknown = reply.status;
  if (!isDaemonStatus(status)) {
    const version = isRecord(status) && typeof status.version === 'string' ? status.version : '';
    return {
      kind: 'other-release',
      version: version === '' ? undefined : printable(version, 40),
      reason: `its status is not one this release reads (${statusShapeProblem(status)})`,
    };
  }
  return { kind: 'daemon', status };
}

/**
 * This installation's entry points with symlinks resolved: the bundle (what
 * `npm link` points at) and the ES module build that autostart runs.
 */
function installedScripts(): Set<string> {
  const scripts = new Set<string>();
  for (const relative of ['../git-credential-broker.cjs', '../main.js']) {
    try {
      scripts.add(realpathSync(fileURLToPath(new URL(relative, import.meta.url))));
    } catch {
      // Not built here (tests run the sources): nothing matches it.
    }
  }
  return scripts;
}

/**
 * Refuses unless `pid` is, as far as this system can tell, a daemon of this
 * installation run by this user: its command line must run one of this
 * installation's scripts with the daemon command (found in review: any
 * process whose arguments merely held "main.js" and "daemon" passed, and a
 * fake daemon on a socket could have it signalled). Where there is no
 * /proc, the signal's own permission check is what remains.
 */
export function checkBrokerDaemon(pid: unknown, procRoot = '/proc'): asserts pid is number {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 1) {
    throw new ConfigError(
      'the daemon reported a pid that is not a process id; is a broker daemon on that socket?',
    );
  }
  if (statSync(procRoot, { throwIfNoEntry: false }) === undefined) return;
  const where = `${procRoot}/${pid}`;
  const stats = statSync(where, { throwIfNoEntry: false });
  if (stats === undefined) {
    throw new ConfigError(
      `the daemon reports pid ${pid}, and no such process runs here (it runs in another pid namespace, a container say)`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new ConfigError(
      `the daemon's pid ${pid} is a process of another user (uid ${stats.uid}); only the user who runs the daemon can act on it`,
    );
  }
  let runs = false;
  try {
    const words = processArguments(pid, procRoot) ?? [];
    // The script is node's first argument that is not an option.
    const at = words.findIndex((word, i) => i > 0 && !word.startsWith('-'));
    const script = realpathSync(resolve(readlinkSync(`${where}/cwd`), words[at] ?? ''));
    runs = installedScripts().has(script) && words.slice(at + 1).includes('daemon');
  } catch {
    // Unreadable, or a script that is gone: not a daemon of this installation.
  }
  if (!runs) {
    throw new ConfigError(
      `the daemon reports pid ${pid}, but that process here is not a broker daemon of this installation (it may run in another pid namespace, a container say)`,
    );
  }
}
