/**
 * How the daemon mints: one mint per scope at a time (concurrent misses
 * share it), the result cached with its refresh and stale times, successors
 * minted in the background shortly before a token goes stale, and a cached
 * token served as a fallback when minting fails upstream.
 */
import { toBrokerError, type BrokerError } from '../shared/errors.js';
import type { CredentialTarget } from '../shared/protocol.js';
import { FALLBACK_MIN_LIFE_MS, isUpstreamFailure } from './fallback-policy.js';
import type { CredentialEnvelope, RequestContext, ResolvedScope } from './provider.js';
import type { Integration } from './provider-registry.js';
import { goneScopeOf, type GoneScope } from './scope-gone.js';
import { refreshAtMs, staleAtMs, type CachedCredential, type TokenCache } from './token-cache.js';

export interface MintOutcome {
  envelope: CredentialEnvelope;
  /** True when another request's mint (or the cache) answered this one. */
  shared: boolean;
  /** Set when minting failed and a cached token was served instead. */
  fallback?: BrokerError;
}

/**
 * Runs on every credential a provider returns, before it is cached or
 * served; throwing fails that mint.
 */
export type AcceptCredential = (
  integration: Integration,
  target: CredentialTarget,
  scope: ResolvedScope,
  envelope: CredentialEnvelope,
  context: RequestContext,
) => void;

/**
 * Runs when a provider says the scope a mint was for is gone upstream
 * (scope-gone.ts), before any request that shares the mint sees the error:
 * none of them is then served a credential that went with it.
 */
export type DropGoneScope = (
  integration: Integration,
  gone: GoneScope,
  context: RequestContext,
) => Promise<void>;

/** A failed refresh-ahead is not tried again for this long. */
export const REFRESH_RETRY_MS = 30_000;

export class MintCoordinator {
  readonly #cache: TokenCache;
  readonly #now: () => number;
  readonly #accept: AcceptCredential | undefined;
  readonly #revoked: (envelope: CredentialEnvelope) => boolean;
  readonly #cacheable: (scope: ResolvedScope) => boolean;
  readonly #dropGone: DropGoneScope | undefined;
  readonly #inFlight = new Map<string, Promise<CredentialEnvelope>>();
  readonly #refreshes = new Set<Promise<void>>();
  /** When a scope whose refresh failed may try again (ms since the epoch). */
  readonly #refreshBackoff = new Map<string, number>();

  constructor(options: {
    cache: TokenCache;
    now: () => number;
    accept?: AcceptCredential;
    /** A revoked credential is never a fallback. */
    revoked?: (envelope: CredentialEnvelope) => boolean;
    /**
     * Whether a minted credential is still worth caching when its mint ends:
     * not once a reload has retired the scope's integration.
     */
    cacheable?: (scope: ResolvedScope) => boolean;
    dropGone?: DropGoneScope;
  }) {
    this.#cache = options.cache;
    this.#now = options.now;
    this.#accept = options.accept;
    this.#revoked = options.revoked ?? (() => false);
    this.#cacheable = options.cacheable ?? (() => true);
    this.#dropGone = options.dropGone;
  }

  /**
   * Mints for a scope that missed the cache; when that fails upstream, falls
   * back to the cached token if it still has life left (stale, not expired).
   */
  async mint(
    integration: Integration,
    target: CredentialTarget,
    scope: ResolvedScope,
    context: RequestContext,
  ): Promise<MintOutcome> {
    try {
      return await this.#mintOnce(integration, target, scope, context);
    } catch (error) {
      const brokerError = toBrokerError(error);
      // A scope gone upstream took its cached tokens with it.
      if (!isUpstreamFailure(brokerError) || goneScopeOf(error) !== undefined) throw error;
      const cached = await this.#cache.getFallback(scope.cacheKey, FALLBACK_MIN_LIFE_MS);
      if (cached === undefined || this.#revoked(cached.envelope)) throw error;
      context.log.warn(
        { code: brokerError.code, reason: brokerError.message },
        'minting failed; serving the cached token as a fallback',
      );
      return { envelope: cached.envelope, shared: true, fallback: brokerError };
    }
  }

  /**
   * On a hit past its refresh time, mints the successor in the background;
   * `onMinted` runs when it is cached. A failure is logged, and the cached
   * token is served until it goes stale.
   */
  refreshAhead(
    hit: CachedCredential,
    integration: Integration,
    target: CredentialTarget,
    scope: ResolvedScope,
    context: RequestContext,
    onMinted: (envelope: CredentialEnvelope) => void,
  ): void {
    const nowMs = this.#now();
    if (hit.refreshAtMs === undefined || hit.refreshAtMs > nowMs) return;
    if (this.#inFlight.has(scope.cacheKey)) return;
    // After a failed refresh, hits stay hits for a while instead of each
    // becoming a call to a service that is failing.
    const retryAt = this.#refreshBackoff.get(scope.cacheKey);
    if (retryAt !== undefined && retryAt > nowMs) return;
    this.#refreshBackoff.delete(scope.cacheKey);

    const refresh = this.#mintOnce(integration, target, scope, context).then(
      ({ envelope }) => {
        // Nothing that happens after a background mint may stop the daemon.
        try {
          onMinted(envelope);
        } catch (error) {
          context.log.error(
            { err: toBrokerError(error) },
            'recording a token refreshed ahead of time failed',
          );
        }
      },
      (error: unknown) => {
        this.#refreshBackoff.set(scope.cacheKey, this.#now() + REFRESH_RETRY_MS);
        context.log.warn(
          { err: toBrokerError(error) },
          'refreshing a token ahead of time failed; the cached one is served meanwhile',
        );
      },
    );
    this.#refreshes.add(refresh);
    void refresh.finally(() => this.#refreshes.delete(refresh));
  }

  /** Whether a mint for the scope is in flight now: a miss would share it. */
  minting(cacheKey: string): boolean {
    return this.#inFlight.has(cacheKey);
  }

  /** Waits for background refreshes; call after the server stops accepting. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#refreshes]);
  }

  async #mintOnce(
    integration: Integration,
    target: CredentialTarget,
    scope: ResolvedScope,
    context: RequestContext,
  ): Promise<MintOutcome> {
    const pending = this.#inFlight.get(scope.cacheKey);
    if (pending) return { envelope: await pending, shared: true };

    const mint = this.#mintAndCache(integration, target, scope, context);
    this.#inFlight.set(scope.cacheKey, mint);
    try {
      return { envelope: await mint, shared: false };
    } finally {
      this.#inFlight.delete(scope.cacheKey);
    }
  }

  async #mintAndCache(
    integration: Integration,
    target: CredentialTarget,
    scope: ResolvedScope,
    context: RequestContext,
  ): Promise<CredentialEnvelope> {
    let envelope: CredentialEnvelope;
    try {
      envelope = await integration.provider.getCredential(target, scope, context);
    } catch (error) {
      const gone = goneScopeOf(error);
      if (gone !== undefined) await this.#dropGone?.(integration, gone, context);
      throw error;
    }
    this.#accept?.(integration, target, scope, envelope, context);
    const nowMs = this.#now();
    const staleAt = staleAtMs({
      nowMs,
      expiresAtMs: envelope.expiresAtMs,
      ttlMs: integration.config.cacheTtlSeconds * 1000,
      minLifeMs: integration.config.minTokenLifeSeconds * 1000,
    });
    const entry: CachedCredential = {
      integration: integration.config.name,
      scope,
      envelope,
      staleAtMs: staleAt,
      refreshAtMs: refreshAtMs(nowMs, staleAt),
    };
    // Served to the requests that waited for it all the same.
    if (!this.#cacheable(scope)) return envelope;
    if (!(await this.#cache.set(scope.cacheKey, entry))) {
      context.log.warn(
        {
          integration: integration.config.name,
          expiresInSeconds: Math.round((envelope.expiresAtMs - nowMs) / 1000),
        },
        'credential expires within minTokenLifeSeconds, so it is not cached; lower minTokenLifeSeconds',
      );
    }
    return envelope;
  }
}
