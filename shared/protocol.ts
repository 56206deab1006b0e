/**
 * The wire protocol between the helper and the daemon.
 *
 * Transport: a Unix socket. Framing: one JSON object per line
 * (newline-delimited JSON). Exchange: the client opens a connection, sends
 * exactly one request line, reads exactly one reply line, and the daemon
 * closes the connection. Every message carries `v`, the protocol version;
 * a daemon answers a version it does not speak with a BAD_REQUEST reply.
 */
import type { BrokerError, ErrorCode } from './errors.js';
import type { DaemonStatus, ReloadProgress } from './protocol-status.js';

/** Version of the messages below. Bump on any incompatible change. */
export const PROTOCOL_VERSION = 1;

/** Largest request or reply line, newline included, either side accepts. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * Largest `status` reply a client accepts: the status lists every cached
 * token, and 64 KiB held only ~450 (found in review: with more, status,
 * reload, stop and --detach all failed). Sized for 100,000 cache entries of
 * up to ~1 KiB each (a 39-character owner, a 100-character repository, a
 * dozen permissions, two timestamps; a typical one is ~170 bytes), about
 * 100 MiB, rounded up. Every other reply stays within MAX_MESSAGE_BYTES.
 */
export const MAX_STATUS_REPLY_BYTES = 128 * 1024 * 1024;

/** Where git wants to authenticate, as git's credential protocol names it. */
export interface CredentialTarget {
  protocol: string;
  host: string;
  /** Repository path without surrounding slashes; absent when git sent none. */
  path?: string;
}

/**
 * Who asked. Self-reported by the helper (a Unix socket in Node cannot read
 * peer credentials), so it is audit context, not an authorization input.
 */
export interface Requester {
  pid: number;
  /** The helper's parent: normally the git process. */
  ppid: number;
  uid?: number;
  cwd?: string;
}

export type PermissionLevel = 'read' | 'write' | 'admin';
export type Permissions = Record<string, PermissionLevel>;

/** Ask for a credential for `target`. */
export interface GetRequest {
  v: number;
  op: 'get';
  target: CredentialTarget;
  /** Narrower permissions than the integration's default, if wanted. */
  permissions?: Permissions;
  /**
   * True when the user named no host (`token owner/repo` without --host):
   * the daemon serves the request on the one host it has an integration
   * for, in place of `target.host`, and refuses it, naming its hosts, when
   * it has several. `target.host` then holds the client's fallback
   * (github.com), which a daemon from before this field, ignoring it,
   * serves as it always did: the protocol version stays.
   */
  hostFromDaemon?: true;
  requester: Requester;
}

/**
 * Drop the cached credential for `target`. With `password`, only an entry
 * holding that exact secret is dropped (git sends the one it just used).
 */
export interface EraseRequest {
  v: number;
  op: 'erase';
  target: CredentialTarget;
  password?: string;
  requester: Requester;
}

/**
 * Liveness check; the reply carries the daemon's version and, from daemons
 * of this release on, its pid (a small reply `stop` can wait on, where
 * `status` may be megabytes).
 */
export interface PingRequest {
  v: number;
  op: 'ping';
}

/** The daemon's state for `status`: never a secret. */
export interface StatusRequest {
  v: number;
  op: 'status';
}

/** Ask the daemon to finish requests in flight and exit. */
export interface StopRequest {
  v: number;
  op: 'stop';
}

/**
 * What `stop` waits beyond the daemon's own shutdown timeout: for the
 * process to exit once its shutdown is done, and for `stop` to notice (it
 * looks every 50 ms) on a busy machine.
 */
export const STOP_MARGIN_MS = 5_000;

/**
 * How long a daemon's whole shutdown (requests in flight, revocations, the
 * audit log's last lines) may take when its config does not say
 * (`shutdownTimeoutSeconds`): see daemon/shutdown.ts.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

/**
 * How long `stop` waits for a daemon that does not report its shutdown
 * timeout in its ping reply (one of an older release): what those daemons
 * were built to finish within.
 */
export const STOP_WAIT_MS = DEFAULT_SHUTDOWN_TIMEOUT_MS + STOP_MARGIN_MS;

/**
 * How long `stop` waits for a daemon to exit once it has asked: the
 * shutdown timeout the daemon reported (`shutdownTimeoutMs` in its ping
 * reply), plus STOP_MARGIN_MS.
 */
export function stopWaitMs(shutdownTimeoutMs: unknown): number {
  return typeof shutdownTimeoutMs === 'number' &&
    Number.isFinite(shutdownTimeoutMs) &&
    shutdownTimeoutMs > 0
    ? Math.min(shutdownTimeoutMs, MAX_SHUTDOWN_TIMEOUT_MS) + STOP_MARGIN_MS
    : STOP_WAIT_MS;
}

/**
 * The longest shutdown a config may set (`shutdownTimeoutSeconds`): a token
 * lives an hour, so past that there is nothing left to revoke, and a bound
 * that long is a typo.
 */
export const MAX_SHUTDOWN_TIMEOUT_MS = 3_600_000;

/**
 * The longest `stop` waits for any daemon, whatever its replies say: a
 * shutdown timeout or a stopping deadline from a reply is a number from
 * another process, and one of 1e300 made `stop` wait for good (found in
 * review).
 */
export const MAX_STOP_WAIT_MS = MAX_SHUTDOWN_TIMEOUT_MS + STOP_MARGIN_MS;

export type Request = GetRequest | EraseRequest | PingRequest | StatusRequest | StopRequest;

export type {
  DaemonStatus,
  ReloadOutcome,
  ReloadProgress,
  StatusApi,
  StatusCacheEntry,
  StatusCounters,
  StatusListener,
} from './protocol-status.js';
export { RECENT_RELOADS } from './protocol-status.js';

/** A credential as the daemon hands it to the helper. */
export interface WireCredential {
  username: string;
  secret: string;
  /** Absolute expiry, milliseconds since the Unix epoch. */
  expiresAtMs: number;
  /** What the credential was granted, for tools that ask for the envelope. */
  granted: { repositories: string[]; permissions: Permissions };
  /** True when served from the daemon's cache rather than minted. */
  cached: boolean;
}

export interface WireError {
  code: ErrorCode;
  message: string;
  hint?: string;
  quit: boolean;
  /**
   * Set when the daemon refused because it is shutting down (code
   * DAEMON_UNREACHABLE, as older helpers know it): its pid, and when its
   * shutdown ends at the latest (ms since the epoch). Every client that can
   * reach the socket reads it, whatever its uid, where the lock beside the
   * socket is the daemon user's alone. See shared/stopping-reply.ts.
   */
  stopping?: { pid: number; untilMs: number };
  /**
   * Set when the daemon's shutdown deadline passed with this request still
   * in flight (code DAEMON_UNREACHABLE): the daemon answers it so, then
   * closes the connection, rather than close it unanswered, which a client
   * of another uid (that cannot read the daemon's lock or log) could not
   * tell from another program. Its pid and the deadline that passed (ms
   * since the epoch). See shared/stopping-reply.ts.
   */
  cutOff?: { pid: number; untilMs: number };
}

export type Reply =
  | {
      v: number;
      ok: true;
      credential?: WireCredential;
      erased?: number;
      daemonVersion?: string;
      /** The daemon's process id, in a ping reply; absent from older daemons. */
      pid?: number;
      /**
       * In a ping reply on a socket without a client policy: how many
       * reloads have ended, and when the last of them was asked for. A
       * small reply `reload` polls to see its reload land, where `status`
       * may be megabytes. Absent from older daemons.
       */
      reloads?: ReloadProgress;
      /**
       * In a ping reply: how long the daemon's shutdown may take now (its
       * `shutdownTimeoutSeconds`, as reloaded), which `stop` waits for;
       * absent from older daemons.
       */
      shutdownTimeoutMs?: number;
      status?: DaemonStatus;
      /**
       * In a stop reply: the requests in flight (the stop itself not
       * counted) when the stop came, which the shutdown answers first,
       * within its time. Absent from older daemons.
       */
      inFlight?: number;
    }
  | { v: number; ok: false; error: WireError };

/** Serializes one message as a protocol line. */
export function encodeMessage(message: Request | Reply): string {
  return `${JSON.stringify(message)}\n`;
}

/** Builds the error reply for anything thrown while serving a request. */
export function errorReply(error: BrokerError): Reply {
  const wire: WireError = { code: error.code, message: error.message, quit: error.quit };
  if (error.hint !== undefined) wire.hint = error.hint;
  return { v: PROTOCOL_VERSION, ok: false, error: wire };
}
