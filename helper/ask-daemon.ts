/**
 * Sends one request to the daemon and turns an error reply into a thrown
 * BrokerError. With `autostart`, a missing daemon is started (when the config
 * allows) and the request retried once; otherwise git's requests wait for a
 * daemon that is shutting down to be replaced (restart-wait.ts).
 */
import { sendRequest } from '../shared/daemon-client.js';
import { BrokerError, DaemonUnreachableError, VersionMismatchError } from '../shared/errors.js';
import type { Reply, Request } from '../shared/protocol.js';
import { stoppingError } from '../shared/stopping-reply.js';

export type OkReply = Extract<Reply, { ok: true }>;

export interface AskOptions {
  autostart?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The reply's time limit; by default that of the request's op (defaultTimeoutMs). */
  timeoutMs?: number;
}

/**
 * The reply's OK form, or its error thrown as a BrokerError. A daemon that
 * finds a status, stop or ping request malformed is of another release (the
 * request holds nothing the user typed): that is no malformed command line
 * (exit 2) but a daemon to restart (exit 1, VERSION_MISMATCH), as for a
 * reply in another protocol version. A get or erase carries git's or the user's input, which the daemon
 * may rightly call malformed.
 */
export function unwrapReply(reply: Reply, op?: Request['op']): OkReply {
  if (reply.ok) return reply;
  const stopping = stoppingError(reply);
  if (stopping !== undefined) throw stopping;
  const { code, message, hint, quit } = reply.error;
  if (code === 'BAD_REQUEST' && op !== undefined && op !== 'get' && op !== 'erase') {
    const fix = /restart the daemon/.test(message)
      ? ''
      : '; helper and daemon must come from the same release: restart the daemon after upgrading';
    throw new VersionMismatchError(
      `the broker daemon did not accept the '${op}' request: ${message}${fix}`,
    );
  }
  throw new BrokerError(code, message, hint === undefined ? { quit } : { hint, quit });
}

export async function askDaemon(
  socketPath: string,
  request: Request,
  options: AskOptions = {},
): Promise<OkReply> {
  try {
    return unwrapReply(await sendRequest(socketPath, request, options.timeoutMs), request.op);
  } catch (error) {
    // Only when nothing listens: a busy or failing daemon must not get a twin.
    if (!(error instanceof DaemonUnreachableError) || !error.noDaemon) throw error;
    if (options.autostart) {
      const { autostartDaemon } = await import('./autostart.js');
      if (await autostartDaemon(socketPath, options.env ?? process.env)) {
        return unwrapReply(await sendRequest(socketPath, request, options.timeoutMs), request.op);
      }
    }
    // git's own requests wait out a restart that someone else does (a
    // supervisor, the operator); other commands report what they find.
    if (request.op !== 'get' && request.op !== 'erase') throw error;
    const { waitThroughRestart } = await import('./restart-wait.js');
    await waitThroughRestart(socketPath, error);
    return unwrapReply(await sendRequest(socketPath, request, options.timeoutMs), request.op);
  }
}
