/**
 * The wire protocol between the helper and the daemon.
 *
 * Transport: a Unix socket. Framing: one JSON object per line
 * (newline-delimited JSON). Exchange: the client opens a connection, sends
 * exactly one request line, reads exactly one reply line, and the daemon
 * closes the connection. Every message carries `v`, the protocol version;
 * a daemon answers a version it does not speak with a BAD_REQUEST reply.
 */
import {
  BadRequestError,
  BrokerError,
  DaemonUnreachableError,
  VersionMismatchError,
  isErrorCode,
  type ErrorCode,
} from './errors.js';
import { withoutTokens } from './printable.js';
import { MAX_PATH_LENGTH } from './paths-text.js';

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
    ? shutdownTimeoutMs + STOP_MARGIN_MS
    : STOP_WAIT_MS;
}

export type Request = GetRequest | EraseRequest | PingRequest | StatusRequest | StopRequest;

/** One cached credential as `status` shows it: what and how long, not the secret. */
export interface StatusCacheEntry {
  integration: string;
  repository: string;
  permissions: Permissions;
  expiresAtMs: number;
  /** When the daemon stops serving it from cache. */
  staleAtMs: number;
  /**
   * The listener socket it was minted for and is served on; absent for the
   * daemon's own socket. Tokens are never shared between sockets.
   */
  listener?: string;
}

export interface StatusCounters {
  hits: number;
  misses: number;
  mints: number;
  /** Requests refused by policy (DENIED): the broker doing its job. */
  denied: number;
  /** Requests that failed: GitHub, a provider, the audit log, the daemon. */
  errors: number;
}

/** How the daemon reaches an integration's API (`status`): never a credential. */
export interface StatusApi {
  /** The API's origin: `https://api.github.com`. */
  origin: string;
  /** `host:port` of the proxy its calls go through, or `none`. */
  proxy: string;
  /** The environment variable that proxy was read from (`https_proxy`), or the one NO_PROXY overrode. */
  proxyVariable?: string;
  /** Set when NO_PROXY excluded this origin from `proxyVariable`'s proxy: `no_proxy` or `NO_PROXY`. */
  excludedBy?: string;
  /** A proxy variable that is set but not read for this origin: `HTTP_PROXY` (see the README). */
  ignored?: string;
}

/** One socket the daemon listens on (`status`). */
export interface StatusListener {
  socket: string;
  allow?: string[];
  permissions?: Permissions;
  /** The group whose members may connect too (the socket is 0660); absent: 0600. */
  group?: string;
  /** Its limit on requests a minute that reach GitHub. */
  maxMintsPerMinute?: number;
  /** Requests that limit refused since the daemon started (also counted as denied). */
  mintsRefused?: number;
}

export interface DaemonStatus {
  version: string;
  pid: number;
  startedAtMs: number;
  socket: string;
  config: string;
  /**
   * SHA-256 (hex) of the config file's bytes the daemon serves with: as it
   * started, or as the last reload that succeeded read them. Absent from
   * daemons before this field.
   */
  configSha256?: string;
  auditLog: string;
  /** Writes to the audit log fail now: no credential is served until one succeeds. */
  auditLogFailing?: boolean;
  /** How long a shutdown may take (`shutdownTimeoutSeconds`); absent from older daemons. */
  shutdownTimeoutSeconds?: number;
  /** `api` for integrations that call an HTTP API (github-app). */
  integrations: { name: string; provider: string; host: string; api?: StatusApi }[];
  /** Every socket the daemon listens on, with its client policy. */
  listeners?: StatusListener[];
  cache: StatusCacheEntry[];
  counters: StatusCounters;
  /** How the last reload ended; absent until the first. */
  lastReload?: ReloadOutcome;
  /** The last few reloads, oldest first: `reload` finds its own among them. */
  recentReloads?: ReloadOutcome[];
}

/** How many reload outcomes a daemon keeps for `status` (recentReloads). */
export const RECENT_RELOADS = 8;

/** Reloads so far, as a ping reports them. */
export interface ReloadProgress {
  /** Reloads ended since the daemon started (ReloadOutcome.count of the last). */
  ended: number;
  /** ReloadOutcome.requestedAtMs of the last one ended; absent before the first. */
  lastRequestedAtMs?: number;
}

/** How a reload of the daemon's config (SIGHUP) ended. */
export interface ReloadOutcome {
  /** Reloads since the daemon started, this one included: a newer one counts higher. */
  count: number;
  /** When the daemon was asked (its SIGHUP handled), ms since the epoch. */
  requestedAtMs: number;
  /** When it ended. */
  atMs: number;
  /** False: the config was refused, and the daemon serves with the one before. */
  ok: boolean;
  /** Why the config was refused. */
  error?: string;
  /** Changes in the new config that take effect only on restart. */
  needsRestart?: string[];
  /** What the new config holds that is allowed but likely a mistake (a mistyped permission name). */
  warnings?: string[];
}

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

/** A client's value quoted in an error: short, so a reply never echoes a whole request. */
function shortJson(value: unknown): string {
  // Tokens out before the cut: a token cut short is too short to recognize.
  const text = withoutTokens(JSON.stringify(value) ?? 'undefined');
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseLine(line: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new BadRequestError(`malformed ${what}: not valid JSON`);
  }
  if (!isRecord(value)) {
    throw new BadRequestError(`malformed ${what}: expected a JSON object`);
  }
  if (value.v !== PROTOCOL_VERSION) {
    throw new BadRequestError(
      `unsupported protocol version ${shortJson(value.v)} in ${what}; helper and daemon must come from the same release, restart the daemon after upgrading`,
    );
  }
  return value;
}

// C0 controls and DEL, and the C1 controls and line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function parseTarget(value: unknown): CredentialTarget {
  if (!isRecord(value)) throw new BadRequestError('malformed request: target must be an object');
  const { protocol, host, path } = value;
  if (typeof protocol !== 'string' || protocol === '') {
    throw new BadRequestError('malformed request: target.protocol must be a non-empty string');
  }
  if (typeof host !== 'string' || host === '') {
    throw new BadRequestError('malformed request: target.host must be a non-empty string');
  }
  if (path !== undefined && typeof path !== 'string') {
    throw new BadRequestError('malformed request: target.path must be a string');
  }
  // Checked before anything else looks at them: work per request stays small.
  if (host.length > 255 || protocol.length > 32) {
    throw new BadRequestError('malformed request: target.host or target.protocol is too long');
  }
  if (path !== undefined && path.length > MAX_PATH_LENGTH) {
    throw new BadRequestError(
      `malformed request: target.path is longer than ${MAX_PATH_LENGTH} characters`,
    );
  }
  // No host, protocol or repository name holds one (recent git even
  // refuses a carriage return; older git decodes %1b in a URL's path and
  // sends it): refused here, so nothing after has to be ready for them.
  for (const [name, value] of [
    ['protocol', protocol],
    ['host', host],
    ['path', path ?? ''],
  ] as const) {
    if (CONTROL_CHARACTER.test(value)) {
      throw new BadRequestError(
        `malformed request: target.${name} contains a control character, which no valid ${name} holds; check the remote URL`,
      );
    }
  }
  return path === undefined ? { protocol, host } : { protocol, host, path };
}

function parseRequester(value: unknown): Requester {
  if (!isRecord(value)) return { pid: 0, ppid: 0 };
  const requester: Requester = {
    pid: Number.isSafeInteger(value.pid) ? (value.pid as number) : 0,
    ppid: Number.isSafeInteger(value.ppid) ? (value.ppid as number) : 0,
  };
  if (Number.isSafeInteger(value.uid)) requester.uid = value.uid as number;
  if (typeof value.cwd === 'string') requester.cwd = value.cwd.slice(0, 4096);
  return requester;
}

const LEVELS: ReadonlySet<string> = new Set(['read', 'write', 'admin']);

function parsePermissions(value: unknown): Permissions | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value))
    throw new BadRequestError('malformed request: permissions must be an object');
  const permissions: Permissions = {};
  for (const [name, level] of Object.entries(value)) {
    // GitHub's names are lowercase words; `__proto__` would vanish on assignment.
    if (!/^[a-z][a-z_]{0,63}$/.test(name)) {
      throw new BadRequestError('malformed request: a permission name is not a GitHub permission');
    }
    if (typeof level !== 'string' || !LEVELS.has(level)) {
      throw new BadRequestError(
        `invalid permission level ${shortJson(level)} for '${name}'; use read, write or admin`,
      );
    }
    permissions[name] = level as PermissionLevel;
  }
  return permissions;
}

/** Parses and validates one request line; throws BadRequestError. */
export function parseRequest(line: string): Request {
  const value = parseLine(line, 'request');

  switch (value.op) {
    case 'ping':
    case 'status':
    case 'stop':
      return { v: PROTOCOL_VERSION, op: value.op };
    case 'get': {
      const request: GetRequest = {
        v: PROTOCOL_VERSION,
        op: 'get',
        target: parseTarget(value.target),
        requester: parseRequester(value.requester),
      };
      const permissions = parsePermissions(value.permissions);
      if (permissions !== undefined) request.permissions = permissions;
      if (value.hostFromDaemon === true) request.hostFromDaemon = true;
      else if (value.hostFromDaemon !== undefined) {
        throw new BadRequestError('malformed request: hostFromDaemon must be true or absent');
      }
      return request;
    }
    case 'erase': {
      const request: EraseRequest = {
        v: PROTOCOL_VERSION,
        op: 'erase',
        target: parseTarget(value.target),
        requester: parseRequester(value.requester),
      };
      if (typeof value.password === 'string') request.password = value.password;
      return request;
    }
    default:
      throw new BadRequestError(
        `unknown request op ${shortJson(value.op)}; expected get, erase, ping, status or stop`,
      );
  }
}

/**
 * A reply the helper cannot read: the daemon's doing, not the user's input,
 * and nearly always a daemon from another release still running after an
 * upgrade. Git should stop (quit), and the user restart the daemon.
 */
function unreadableReply(reason: string, otherRelease: boolean): BrokerError {
  const fix = /restart the daemon/.test(reason)
    ? ''
    : '; helper and daemon must come from the same release: restart the daemon after upgrading (git-credential-broker stop, then start it again)';
  const message = `cannot read the broker daemon's reply: ${reason}${fix}`;
  return otherRelease
    ? new VersionMismatchError(message)
    : new DaemonUnreachableError(message, { quit: true });
}

/** A reply in another version of this protocol: a broker daemon of another release. */
function isOtherVersion(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return isRecord(value) && typeof value.v === 'number' && value.v !== PROTOCOL_VERSION;
  } catch {
    return false;
  }
}

/**
 * A daemon's error as this release takes it: a code it does not know (a
 * later release's, or anything a daemon wrote there) becomes INTERNAL, the
 * daemon failing in a way this release cannot name, so that only known
 * codes reach output and exit codes.
 */
function wireError(error: Record<string, unknown>): WireError {
  const wire: WireError = {
    code: isErrorCode(error.code) ? error.code : 'INTERNAL',
    message: error.message as string,
    quit: error.quit === true,
  };
  if (typeof error.hint === 'string') wire.hint = error.hint;
  return wire;
}

/**
 * Why a reply line is in no version of this protocol, or undefined when it
 * is one: every broker daemon, of any release, answers a JSON object with
 * a numeric `v`. Anything else comes from a program that is no broker
 * daemon, and upgrading or restarting one would not help.
 */
export function foreignReply(line: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'its answer is not JSON';
  }
  if (!isRecord(value)) return 'its answer is not a JSON object';
  if (typeof value.v !== 'number') return 'its answer has no protocol version';
  return undefined;
}

/**
 * Parses one reply line; throws VersionMismatchError when it is a reply of
 * another protocol version, DaemonUnreachableError when it is no reply
 * (both quit).
 */
export function parseReply(line: string): Reply {
  let value: Record<string, unknown>;
  try {
    value = parseLine(line, 'reply from the daemon');
  } catch (error) {
    throw unreadableReply((error as Error).message, isOtherVersion(line));
  }
  if (value.ok === true) return value as Reply;
  if (value.ok === false && isRecord(value.error) && typeof value.error.message === 'string') {
    return { v: PROTOCOL_VERSION, ok: false, error: wireError(value.error) };
  }
  throw unreadableReply('malformed reply from the daemon: missing ok or error', false);
}
