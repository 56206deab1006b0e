/**
 * A broker daemon of another release, as `status` reports it: one left
 * running after an upgrade answers in another version of the protocol, or
 * refuses what this release asks. It is running, and restarting it is the
 * fix (found in a trial: status --json said "running": true with the code
 * DAEMON_UNREACHABLE).
 */
import { sendRequest } from '../../shared/daemon-client.js';
import { VersionMismatchError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { VERSION } from '../../shared/version.js';

/** A ping does no work: a daemon that answers at all answers it at once. */
const PING_TIMEOUT_MS = 2000;

/** The daemon's version, as its ping says; undefined when it does not say. */
async function daemonVersion(socketPath: string): Promise<string | undefined> {
  try {
    const reply = await sendRequest(
      socketPath,
      { v: PROTOCOL_VERSION, op: 'ping' },
      PING_TIMEOUT_MS,
    );
    return reply.ok && typeof reply.daemonVersion === 'string'
      ? printable(reply.daemonVersion, 40)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface OtherRelease {
  /** The refusal, led by what is true: a daemon of another release runs there. */
  error: VersionMismatchError;
  /** Its version, when it says (a daemon of another protocol version cannot). */
  version: string | null;
}

export async function otherRelease(
  socketPath: string,
  refusal: VersionMismatchError,
): Promise<OtherRelease> {
  const version = await daemonVersion(socketPath);
  const which = version === undefined ? 'its version unknown' : `version ${version}`;
  return {
    error: new VersionMismatchError(
      `a broker daemon of another release runs on '${socketPath}' (${which}; this command is ${VERSION}): ${refusal.message}`,
    ),
    version: version ?? null,
  };
}
