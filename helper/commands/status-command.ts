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
import { stoppingError } from '../../shared/stopping-reply.js';
import { VERSION } from '../../shared/version.js';
import { unwrapReply } from '../ask-daemon.js';
import { formatStatus } from './format-status.js';
import { otherRelease } from './other-release.js';
import { isDaemonStatus, isRecord, statusShapeProblem } from './status-shape.js';
import { describeWindingDown, startAgain, windingDown, windingJson } from './winding-down.js';

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
    // A daemon that answers only that it is stopping serves no longer.
    answered = stoppingError(reply) === undefined;
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
    // Redacted as text status is (found in review: a token a daemon put in
    // a path or message came out of --json whole).
    print(json ? `${terminalJson(report, { redactTokens: true })}\n` : formatStatus(status));
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
    const stopping = socketPath === undefined ? undefined : windingDown(socketPath, failure);
    if (stopping !== undefined) {
      failure = new DaemonUnreachableError(
        `${describeWindingDown(socketPath!, stopping)}; ${startAgain(socketPath!, stopping)}`,
        { noDaemon: true },
      );
    }
    if (json) {
      const report = {
        running: answered || release !== undefined,
        ...(stopping === undefined ? {} : windingJson(stopping)),
        ...release,
        socket: socketPath ?? socketFlag ?? null,
        error: printable(failure.message, 2000),
        code: failure.code,
      };
      print(`${terminalJson(report, { redactTokens: true })}\n`);
    }
    throw release === undefined && stopping === undefined ? error : failure;
  }
}
