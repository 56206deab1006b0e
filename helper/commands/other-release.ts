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

/**
 * `refusal` led by what is true. `known` is a version the daemon already
 * gave (in a status this release cannot read), else its ping is asked.
 */
export async function otherRelease(
  socketPath: string,
  refusal: VersionMismatchError,
  known?: unknown,
): Promise<OtherRelease> {
  const version =
    typeof known === 'string' && known !== ''
      ? printable(known, 40)
      : await daemonVersion(socketPath);
  const which = version === undefined ? 'its version unknown' : `version ${version}`;
  // Same version, wrong answers: a build of its own, or no broker; the fix is the same.
  const lead =
    version === VERSION
      ? `a broker daemon on '${socketPath}' says it is version ${version}, as this command, but answers as another release`
      : `a broker daemon of another release runs on '${socketPath}' (${which}; this command is ${VERSION})`;
  return {
    error: new VersionMismatchError(`${lead}: ${refusal.message}`),
    version: version ?? null,
  };
}
