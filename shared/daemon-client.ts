/**
 * The client side of the wire protocol: one request, one reply, one
 * connection. Imports only node:net so the helper's `get` path stays lean.
 */
import { printable, shellQuote } from './printable.js';
import { resolveSocketPath } from './paths.js';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { DaemonUnreachableError, VersionMismatchError, type BrokerError } from './errors.js';
import {
  encodeMessage,
  MAX_MESSAGE_BYTES,
  MAX_STATUS_REPLY_BYTES,
  type Reply,
  type Request,
} from './protocol.js';
import { cutOffMessage, cutOffOf, stoppingOf } from './stopping-reply.js';
import { foreignReply, parseReply } from './reply-parse.js';
import { replyShapeProblem } from './reply-shape.js';
import { askOperatorToStart } from './socket-operator.js';
import { followLinks, linkPhrase, notASocket, refusedThroughLink } from './socket-link.js';

/** How long a client waits for the daemon's reply (minting can take a while). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/**
 * How long a client waits for ping, status or stop, which do no GitHub
 * work: found in review, `stop` waited 60 s twice on a socket that never
 * answered, and `reload` 60 s a poll.
 */
export const CONTROL_REQUEST_TIMEOUT_MS = 5_000;

/** How often a client waiting for a reply looks whether the daemon is stuck stopping. */
const STUCK_CHECK_MS = 1_000;

/** The timeout a request gets when its caller names none. */
export function defaultTimeoutMs(op: Request['op']): number {
  return op === 'ping' || op === 'status' || op === 'stop'
    ? CONTROL_REQUEST_TIMEOUT_MS
    : DEFAULT_REQUEST_TIMEOUT_MS;
}

/**
 * How to start the daemon this client was looking for: on its socket, if
 * not the default; on another user's socket, by asking that user.
 */
function startHint(socketPath: string): string {
  const ask = askOperatorToStart(socketPath);
  if (ask !== undefined) return ask;
  let usual: string | undefined;
  try {
    usual = resolveSocketPath(process.env);
  } catch {
    usual = undefined;
  }
  // Quoted, so the line can be pasted into a shell whatever the path holds.
  const socket = socketPath === usual ? '' : ` --socket ${shellQuote(socketPath)}`;
  return `start it with: git-credential-broker daemon --detach${socket}`;
}

/** The group's name in /etc/group, or its number. */
function groupName(gid: number): string {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === gid) return `'${name}' (gid ${gid})`;
    }
  } catch {
    // no /etc/group: the number will do
  }
  return `gid ${gid}`;
}

/**
 * What lets this user connect, from what the socket file says: a listener
 * open to a group (listeners[].group) wants a member of that group, not the
 * daemon's user (found in a trial); a directory on the way may be closed.
 */
function accessFix(socketPath: string): string {
  let stats;
  try {
    stats = statSync(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EACCES') {
      return 'a directory on the way to it does not let this user through; run git as the user that runs the daemon, or ask for a listener socket open to your group (listeners[].group)';
    }
    return 'run git as the user that runs the daemon';
  }
  if ((stats.mode & 0o060) === 0o060) {
    return `it is open to the group ${groupName(stats.gid)}: run git as a member of that group (or as the user that runs the daemon)`;
  }
  return `only its owner (uid ${stats.uid}) may connect: run git as that user, or ask for a listener socket open to your group (listeners[].group)`;
}

/**
 * A symbolic link at the socket path that leads nowhere: connecting says
 * ENOENT (no file at the end) or ELOOP (links in a loop), which had read
 * as "no daemon is listening" and a bare ELOOP (found in review). Not
 * noDaemon: a daemon started there could not listen either.
 */
function brokenLink(socketPath: string, code: string | undefined): BrokerError | undefined {
  const chain = followLinks(socketPath);
  const quoted = shellQuote(socketPath);
  if (chain !== undefined && code === 'ELOOP') {
    return new DaemonUnreachableError(
      `'${socketPath}' is a symbolic link to '${printable(chain.target, 300)}' that leads back to itself (a loop of links), so no daemon can be reached through it; remove the link (rm ${quoted}) so a daemon can create its socket there, or point it at the daemon's socket (ln -sfn SOCKET ${quoted})`,
    );
  }
  if (chain !== undefined) {
    // A chain names its missing end, not its second link (found in review).
    const ask = askOperatorToStart(chain.end);
    if (ask !== undefined) {
      return new DaemonUnreachableError(
        `${linkPhrase(socketPath, chain)}, which does not exist, so no daemon can be reached through it; ${ask}`,
      );
    }
    return new DaemonUnreachableError(
      `${linkPhrase(socketPath, chain)}, which does not exist, so no daemon can be reached through it; start the daemon there (git-credential-broker daemon --detach --socket ${shellQuote(chain.end)}), point the link at the daemon's socket (ln -sfn SOCKET ${quoted}), or remove it (rm ${quoted}) so a daemon can create its socket in its place`,
    );
  }
  if (code !== 'ELOOP') return undefined;
  return new DaemonUnreachableError(
    `a directory on the way to '${socketPath}' is a symbolic link in a loop, so the path leads nowhere; fix or remove that link, or give the broker another --socket path`,
  );
}

function unreachable(
  socketPath: string,
  error: NodeJS.ErrnoException,
  connected: boolean,
): BrokerError {
  const link =
    error.code === 'ENOENT' || error.code === 'ELOOP'
      ? brokenLink(socketPath, error.code)
      : undefined;
  if (link !== undefined) return link;
  switch (error.code) {
    case 'ENOENT':
      return new DaemonUnreachableError(
        `no broker daemon is listening at '${socketPath}'; ${startHint(socketPath)}`,
        { noDaemon: !connected },
      );
    case 'ECONNREFUSED': {
      // Not noDaemon: a daemon started on the link would refuse it.
      const chain = followLinks(socketPath);
      if (chain !== undefined) {
        return new DaemonUnreachableError(refusedThroughLink(socketPath, chain));
      }
      const kind = notASocket(socketPath);
      if (kind !== undefined) {
        // Nothing to start: a daemon would refuse the path too. Not
        // noDaemon, so neither autostart nor stop takes it for "no daemon".
        // Never "move it away" for a directory: others may need it (/tmp).
        const fix =
          kind === 'a directory'
            ? "--socket takes a socket file's path, not its directory's: give the broker the path of a socket file in a directory of your own"
            : 'move it away if nothing needs it, or give the broker another --socket path';
        return new DaemonUnreachableError(
          `'${socketPath}' is ${kind}, not a socket: the broker did not create it, and no daemon can listen there; ${fix}`,
        );
      }
      return new DaemonUnreachableError(
        `the broker daemon at '${socketPath}' is not running (stale socket); ${startHint(socketPath)}`,
        { noDaemon: !connected },
      );
    }
    case 'EACCES':
      return new DaemonUnreachableError(
        `permission denied on the broker socket '${socketPath}'; ${accessFix(socketPath)}`,
      );
    default:
      return new DaemonUnreachableError(
        `cannot reach the broker daemon at '${socketPath}': ${error.code ?? error.message}`,
      );
  }
}

/**
 * The reply, once its fields are what `op` promises: nothing downstream
 * (git above all) reads a field a broken daemon left out or mistyped.
 */
function checkedReply(socketPath: string, op: Request['op'], reply: Reply): Reply {
  const problem = reply.ok ? replyShapeProblem(op, reply) : undefined;
  if (problem === undefined) return reply;
  throw new VersionMismatchError(
    `the broker daemon at '${socketPath}' sent ${problem}; is it another program, or a daemon of another release? Restart it (git-credential-broker stop, then start it again), or give the broker another --socket path`,
  );
}

/** Sends one request and resolves with the daemon's reply. */
export function sendRequest(
  socketPath: string,
  request: Request,
  timeoutMs = defaultTimeoutMs(request.op),
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    // Only status lists the whole cache; any other reply that large is no reply.
    const maxReplyBytes = request.op === 'status' ? MAX_STATUS_REPLY_BYTES : MAX_MESSAGE_BYTES;
    // A path, never a port, whatever the string looks like.
    const socket = connect({ path: socketPath });

    const finish = (error: BrokerError | undefined, reply?: Reply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(stuckCheck);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply as Reply);
    };
    const timer = setTimeout(() => {
      finish(
        new DaemonUnreachableError(
          `the broker daemon at '${socketPath}' did not answer within ${timeoutMs} ms; check its log`,
        ),
      );
    }, timeoutMs);
    // A slow reply may be a daemon stuck in its shutdown: its lock says so.
    // A daemon seen shutting down meanwhile is what a close unanswered is.
    let seenStopping: { pid: number; untilMs: number } | undefined;
    const stuckCheck = setInterval(() => {
      void import('./stuck-daemon.js').then(({ stuckStopping, windingDownOn }) => {
        seenStopping ??= windingDownOn(socketPath);
        const stuck = stuckStopping(socketPath);
        if (stuck !== undefined) finish(stuck);
      });
    }, STUCK_CHECK_MS);

    let connected = false;
    socket.on('connect', () => {
      connected = true;
      socket.write(encodeMessage(request));
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxReplyBytes) {
        finish(
          new DaemonUnreachableError(
            `the broker daemon at '${socketPath}' sent a reply larger than ${maxReplyBytes} bytes to '${request.op}'; is a broker daemon on that socket?`,
            // As for any reply the helper cannot read: git stops, not prompts.
            { quit: true },
          ),
        );
        return;
      }
      const newline = chunk.indexOf(0x0a);
      if (newline === -1) {
        chunks.push(chunk);
        return;
      }
      chunks.push(chunk.subarray(0, newline));
      const line = Buffer.concat(chunks).toString('utf8');
      const foreign = foreignReply(line);
      if (foreign !== undefined) {
        finish(
          new DaemonUnreachableError(
            `something answers on '${socketPath}', but not in the broker's protocol (${foreign}): it is no broker daemon of any release; stop what listens there, or give the broker another --socket path`,
            { quit: true, notBroker: true },
          ),
        );
        return;
      }
      try {
        const reply = parseReply(line);
        // The daemon's shutdown ran out of time with this request in flight.
        // Read only from an error reply of this version (parseReply threw
        // on another one): never from an OK reply that also carries it.
        const cutOff =
          !reply.ok && reply.error.code === 'DAEMON_UNREACHABLE' && line.includes('"cutOff"')
            ? cutOffOf(line)
            : undefined;
        if (cutOff !== undefined) {
          finish(new DaemonUnreachableError(cutOffMessage(socketPath, cutOff)));
          return;
        }
        if (!reply.ok && line.includes('"stopping"')) {
          const stopping = stoppingOf(line);
          if (stopping !== undefined) reply.error.stopping = stopping;
        }
        finish(undefined, checkedReply(socketPath, request.op, reply));
      } catch (error) {
        finish(error as BrokerError);
      }
    });
    socket.on('end', () => {
      // Part of a reply, then nothing: as unreadable as a garbage reply, so
      // git stops rather than prompts (found in review).
      if (received > 0) {
        finish(
          new DaemonUnreachableError(
            `what listens at '${socketPath}' sent part of a reply (${received} bytes, no end of line) and closed the connection; a broker daemon's log says why, and another program there is no broker daemon`,
            { quit: true },
          ),
        );
        return;
      }
      const closed = new DaemonUnreachableError(
        `what listens at '${socketPath}' closed the connection without a reply; a broker daemon's log says why, and another program there is no broker daemon`,
      );
      void import('./stuck-daemon.js').then(
        ({ cutOffByShutdown }) => finish(cutOffByShutdown(socketPath, seenStopping) ?? closed),
        () => finish(closed),
      );
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(unreachable(socketPath, error, connected)),
    );
  });
}
