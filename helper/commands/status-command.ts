/**
 * `status`: what the daemon on a socket reports, as text or JSON.
 */
import { sendRequest } from '../../shared/daemon-client.js';
import {
  DaemonUnreachableError,
  toBrokerError,
  VersionMismatchError,
} from '../../shared/errors.js';
import { printable, terminalJson } from '../../shared/printable.js';
import { resolveSocketPath } from '../../shared/paths.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { describeUntil, stoppingDaemon } from '../../shared/socket-lock-state.js';
import { VERSION } from '../../shared/version.js';
import { unwrapReply } from '../ask-daemon.js';
import { formatStatus } from './format-status.js';
import { otherRelease } from './other-release.js';
import { isDaemonStatus, isRecord, statusShapeProblem } from './status-shape.js';

/**
 * `status`: with --json, a JSON object on stdout whatever happens, so a
 * script always has one to read: `running` says whether a daemon answered,
 * `versionMismatch` whether it is of another release than this command
 * (`helperVersion`), and `error` why there is no status.
 */
export async function showStatus(
  socketFlag: string | undefined,
  json: boolean,
  print: (text: string) => void,
): Promise<void> {
  let socketPath: string | undefined;
  let answered = false;
  /** The version a status of the wrong shape gave, if any. */
  let statusVersion: unknown;
  try {
    socketPath = resolveSocketPath(process.env, socketFlag);
    const reply = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' });
    answered = true;
    const status: unknown = unwrapReply(reply, 'status').status;
    // Another release answers status in another shape: say so, with the
    // fix, rather than print half of it or fail on a field it lacks.
    if (!isDaemonStatus(status)) {
      statusVersion = isRecord(status) ? status.version : undefined;
      throw new VersionMismatchError(
        `its status is not one this release reads (${statusShapeProblem(status)}); restart the daemon after upgrading (git-credential-broker stop, then start it again)`,
      );
    }
    const ours = {
      running: true,
      versionMismatch: status.version !== VERSION,
      helperVersion: VERSION,
    };
    // First in the object, and not something the daemon's answer can change.
    const report = { ...ours, ...status, ...ours };
    print(json ? `${terminalJson(report)}\n` : formatStatus(status));
  } catch (error) {
    let failure = toBrokerError(error, 'helper');
    let release:
      { versionMismatch: true; version: string | null; helperVersion: string } | undefined;
    if (failure instanceof VersionMismatchError && socketPath !== undefined) {
      const other = await otherRelease(socketPath, failure, statusVersion);
      failure = other.error;
      release = { versionMismatch: true, version: other.version, helperVersion: VERSION };
    }
    // No socket, but a daemon shutting down still holds its lock: neither
    // "not running" nor a stale socket.
    const stopping =
      failure instanceof DaemonUnreachableError && failure.noDaemon && socketPath !== undefined
        ? stoppingDaemon(socketPath)
        : undefined;
    if (stopping !== undefined) {
      failure = new DaemonUnreachableError(
        `the broker daemon (pid ${stopping.pid}) on '${socketPath}' is stopping: it takes no new requests, and exits once it has finished those in flight and its revocations, by ${describeUntil(stopping.untilMs)} at the latest; then start a new one (git-credential-broker daemon --detach waits for it to exit)`,
        { noDaemon: true },
      );
    }
    if (json) {
      const report = {
        running: answered || release !== undefined,
        ...(stopping === undefined ? {} : { stopping: true, pid: stopping.pid }),
        ...release,
        socket: socketPath ?? socketFlag ?? null,
        error: printable(failure.message, 2000),
        code: failure.code,
      };
      print(`${terminalJson(report)}\n`);
    }
    throw release === undefined && stopping === undefined ? error : failure;
  }
}
