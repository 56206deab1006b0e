/**
 * What a daemon's `status` reply holds (DaemonStatus) and how reloads are
 * reported: a part of the wire protocol of its own, as large as the rest.
 * protocol.ts re-exports it; import it from there.
 */
import type { Permissions } from './protocol.js';

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
  /**
   * The socket file's permission bits in octal, as read at status time:
   * "0600" (this user only) or "0660" (and `group`). Absent from daemons
   * before this field.
   */
  mode?: string;
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
