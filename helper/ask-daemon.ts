/**
 * Sends one request to the daemon and turns an error reply into a thrown
 * BrokerError. With `autostart`, a missing daemon is started (when the config
 * allows) and the request retried once.
 */
import { sendRequest } from '../shared/daemon-client.js';
import { BrokerError, DaemonUnreachableError } from '../shared/errors.js';
import type { Reply, Request } from '../shared/protocol.js';

export type OkReply = Extract<Reply, { ok: true }>;

export interface AskOptions {
  autostart?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** The reply's OK form, or its error thrown as a BrokerError. */
export function unwrapReply(reply: Reply): OkReply {
  if (reply.ok) return reply;
  const { code, message, hint, quit } = reply.error;
  throw new BrokerError(code, message, hint === undefined ? { quit } : { hint, quit });
}

export async function askDaemon(
  socketPath: string,
  request: Request,
  options: AskOptions = {},
): Promise<OkReply> {
  try {
    return unwrapReply(await sendRequest(socketPath, request));
  } catch (error) {
    // Only when nothing listens: a busy or failing daemon must not get a twin.
    if (!(error instanceof DaemonUnreachableError) || !error.noDaemon || !options.autostart) {
      throw error;
    }
    const { autostartDaemon } = await import('./autostart.js');
    if (!(await autostartDaemon(socketPath, options.env ?? process.env))) throw error;
    return unwrapReply(await sendRequest(socketPath, request));
  }
}
