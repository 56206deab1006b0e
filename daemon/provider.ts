/**
 * The provider interface: what an integration implements so the daemon can
 * hand out its credentials. The daemon's core (registry, cache, audit log,
 * socket server) knows nothing else about a provider.
 */
import type { Logger } from 'pino';
import type { CredentialTarget, Permissions, Requester, StatusApi } from '../shared/protocol.js';
import type { ClientPolicy } from './client-policy.js';

/** Per-request context a provider may use; it must not keep it. */
export interface RequestContext {
  requestId: string;
  requester: Requester;
  log: Logger;
  /** The policy of the socket the request came in on; absent: unrestricted. */
  policy?: ClientPolicy;
  /**
   * The socket's limit on requests that reach the upstream service; absent:
   * none. A provider that calls upstream while resolving a scope (a lookup
   * the mint needs) spends it first: `context.mintLimit?.spend(context)`.
   */
  mintLimit?: MintLimit;
}

/** A socket's budget of requests that reach upstream (see mint-limit.ts). */
export interface MintLimit {
  /** Charges the request once; throws RequestDeniedError when none are left. */
  spend(context: RequestContext): void;
}

/** What the client asked for beyond the target. */
export interface RequestedScopes {
  permissions?: Permissions;
}

/**
 * A request resolved by its provider to one concrete scope. `cacheKey`
 * identifies every credential that may serve this scope: two requests with
 * the same key may share a cached credential, two with different keys never.
 */
export interface ResolvedScope {
  cacheKey: string;
  /** Repository the scope covers, normalized (`owner/repo`), for audit and erase. */
  repository: string;
  permissions: Permissions;
  /** Provider facts worth auditing (installation id, App id); never secret. */
  metadata: Record<string, string | number>;
  /**
   * Set by the daemon's core, not the provider: the socket (listener) the
   * scope was resolved for. Its tokens serve that socket only.
   */
  listener?: string;
}

/** One credential, as a provider returns it. */
export interface CredentialEnvelope {
  secret: string;
  username: string;
  expiresAtMs: number;
  granted: { repositories: string[]; permissions: Permissions };
  metadata: Record<string, string | number>;
}

export type RevokeOutcome = 'revoked' | 'expired';

export interface CredentialProvider {
  /** Provider kind as written in the config (`github-app`). */
  readonly kind: string;

  /** How the provider reaches its API (origin, proxy), for status and the startup log. */
  readonly api?: StatusApi;

  /**
   * Maps a request to the scope it would be served with, or throws (or
   * rejects with) a RequestDeniedError. Must not call the upstream service
   * when it already knows the answer, so that a cache hit stays free; it
   * may then answer synchronously, which keeps a hit off the microtask queue.
   */
  resolveScope(
    target: CredentialTarget,
    requested: RequestedScopes,
    context: RequestContext,
  ): ResolvedScope | Promise<ResolvedScope>;

  /** Obtains a fresh credential for a resolved scope. */
  getCredential(
    target: CredentialTarget,
    scope: ResolvedScope,
    context: RequestContext,
  ): Promise<CredentialEnvelope>;

  /**
   * The normalized repository a target names, for auditing a request that
   * failed before it resolved; undefined when the target names none.
   */
  repositoryOf?(target: CredentialTarget): string | undefined;

  /**
   * Invalidates a credential this provider issued before it expires.
   * Resolves 'revoked', or 'expired' when it no longer worked anyway (expired
   * or revoked before). Throws a BrokerError when the upstream refused.
   * `signal` aborts it: the daemon's shutdown has run out of time.
   */
  revoke?(
    envelope: CredentialEnvelope,
    context: { log: Logger; signal?: AbortSignal },
  ): Promise<RevokeOutcome>;
}
