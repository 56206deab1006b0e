/**
 * What answers on a socket path: nothing, a broker daemon (with its status,
 * when the socket is one it answers `status` on), or something else. Lets
 * `daemon --detach` tell a daemon it can leave running from a path it must
 * not touch.
 */
import { sendRequest } from '../../shared/daemon-client.js';
import { DaemonUnreachableError } from '../../shared/errors.js';
import { PROTOCOL_VERSION, type DaemonStatus } from '../../shared/protocol.js';

export type SocketHolder =
  | { kind: 'nothing' }
  /** A broker daemon that answered status. */
  | { kind: 'daemon'; status: DaemonStatus }
  /** A broker daemon that refused status: a listener with a client policy. */
  | { kind: 'restricted'; refusal: string }
  /** Something that does not answer as a broker daemon does. */
  | { kind: 'other'; reason: string };

/** Long enough for a busy daemon; a status call does no GitHub work. */
const STATUS_TIMEOUT_MS = 5000;

export async function socketHolder(socketPath: string): Promise<SocketHolder> {
  let reply;
  try {
    reply = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' }, STATUS_TIMEOUT_MS);
  } catch (error) {
    if (error instanceof DaemonUnreachableError && error.noDaemon) return { kind: 'nothing' };
    return { kind: 'other', reason: (error as Error).message };
  }
  if (!reply.ok) return { kind: 'restricted', refusal: reply.error.message };
  if (reply.status === undefined) {
    return { kind: 'other', reason: 'it answered status without one' };
  }
  return { kind: 'daemon', status: reply.status };
}
