/**
 * The socket's operations beside credentials: ping on every socket; status
 * and stop, daemon-wide, only on a socket without a client policy.
 */
import type { Logger } from 'pino';
import { BadRequestError, RequestDeniedError } from '../shared/errors.js';
import {
  PROTOCOL_VERSION,
  type DaemonStatus,
  type ReloadProgress,
  type Reply,
  type Request,
} from '../shared/protocol.js';
import type { ClientPolicy } from './client-policy.js';
import { shellQuote } from '../shared/printable.js';

/** Daemon-level operations the socket exposes beside credentials. */
export interface DaemonControl {
  status(): Promise<DaemonStatus>;
  /** Reloads so far, for ping; absent where the daemon does not track them (tests). */
  reloads?(): ReloadProgress;
  /** Begins a graceful shutdown; called after the reply is sent. */
  stop(): void;
  /** Whether any of the daemon's sockets has no client policy. */
  hasUnrestrictedSocket(): boolean;
  /** The path of a socket without a client policy (its --socket, as a rule), if it has one. */
  unrestrictedSocket?(): string | undefined;
  /** How long a shutdown may take now (the config as reloaded), for `stop` to wait. */
  shutdownTimeoutMs?(): number;
  /** Requests being served on all sockets now, for the stop reply. */
  inFlight?(): number;
}

/**
 * Whether a socket's clients are held to a policy (an allow list, a
 * ceiling, a mint limit), or may be other users (a group): either way a
 * sandbox's, not the operator's.
 */
export function isRestricted(policy: ClientPolicy | undefined): boolean {
  return (
    policy?.allow !== undefined ||
    policy?.permissions !== undefined ||
    policy?.maxMintsPerMinute !== undefined ||
    policy?.group !== undefined
  );
}

/** Why a socket counts as a sandbox's, for a refusal: a policy, a group, or both. */
function whyRestricted(policy: ClientPolicy): string {
  const held =
    policy.allow !== undefined ||
    policy.permissions !== undefined ||
    policy.maxMintsPerMinute !== undefined;
  const group = policy.group === undefined ? undefined : `open to group '${policy.group}'`;
  if (!held) return `which is ${group ?? 'restricted'}`;
  return group === undefined
    ? 'which has a client policy'
    : `which has a client policy and is ${group}`;
}

export type ControlRequest = Exclude<Request, { op: 'get' | 'erase' }>;

/** The socket a control request came in on, as far as answering it goes. */
export interface ControlSocket {
  /** Daemon-wide status and stop; without it those ops are refused. */
  control?: DaemonControl;
  version: string;
  /** What this socket's clients may obtain; absent: unrestricted. */
  policy?: ClientPolicy;
}

/** Answers ping, status and stop; throws a BrokerError to refuse. */
export async function answerControl(
  request: ControlRequest,
  socket: ControlSocket,
  log: () => Logger,
): Promise<Reply> {
  switch (request.op) {
    case 'ping': {
      // The pid is no secret: a restricted socket's refusals name it too.
      // Reloads are the operator's business, as status is.
      const reloads = isRestricted(socket.policy) ? undefined : socket.control?.reloads?.();
      // The shutdown timeout and reloads are optional fields: protocol v1 still.
      return {
        v: PROTOCOL_VERSION,
        ok: true,
        daemonVersion: socket.version,
        pid: process.pid,
        ...(reloads === undefined ? {} : { reloads }),
        ...(socket.control?.shutdownTimeoutMs === undefined
          ? {}
          : { shutdownTimeoutMs: socket.control.shutdownTimeoutMs() }),
      };
    }
    case 'status':
      return {
        v: PROTOCOL_VERSION,
        ok: true,
        status: await requireUnrestricted(socket, 'status').status(),
      };
    case 'stop': {
      const control = requireUnrestricted(socket, 'stop');
      log().info('stop requested over the socket');
      setImmediate(() => control.stop());
      // The stop request is one of them until it is answered.
      const inFlight = control.inFlight === undefined ? undefined : control.inFlight() - 1;
      return {
        v: PROTOCOL_VERSION,
        ok: true,
        ...(inFlight === undefined ? {} : { inFlight: Math.max(0, inFlight) }),
      };
    }
  }
}

/**
 * What a client refused a daemon-wide op is told. Its client is a
 * sandbox's: it is told whom to ask. A socket open to a group serves other
 * users, who can neither signal the daemon nor reach the operator's
 * socket, so it gives neither a pid nor a path (the path would only show
 * them where the operator keeps sockets). A policy socket of this user
 * alone (0600) may be the operator's own, as a --socket with a policy is:
 * it names the operator's socket, and the pid when there is no such
 * socket; its clients could read both from the daemon's process anyway.
 */
function refusalFix(op: string, policy: ClientPolicy, control: DaemonControl | undefined): string {
  const otherUsers = policy.group !== undefined;
  if (control?.hasUnrestrictedSocket() === false) {
    const ask = `every socket of this daemon is a sandbox's: ask the operator to ${op === 'stop' ? 'stop it' : `give it a socket without a client policy for '${op}'`}`;
    return otherUsers || op !== 'stop'
      ? ask
      : `${ask}, or, as the operator, stop it with SIGTERM (kill -TERM ${process.pid})`;
  }
  const own = control?.unrestrictedSocket?.();
  if (otherUsers || own === undefined) return "ask the operator to run it on the operator's socket";
  return `use the daemon's own socket (git-credential-broker ${op} --socket ${shellQuote(own)})`;
}

/**
 * Daemon-wide operations belong to the operator's socket: a sandbox on a
 * restricted listener must not stop the daemon or see other sockets' cache.
 */
function requireUnrestricted(socket: ControlSocket, op: string): DaemonControl {
  const { policy, control } = socket;
  if (policy !== undefined && isRestricted(policy)) {
    throw new RequestDeniedError(
      `'${op}' is not allowed on socket '${policy.name}', ${whyRestricted(policy)}; ${refusalFix(op, policy, control)}`,
    );
  }
  if (control === undefined) throw new BadRequestError(`'${op}' is not served on this socket`);
  return control;
}
