/**
 * The daemon's core: routes a request, serves it from the cache or mints
 * through the provider, and audits the outcome. Knows providers only through
 * the provider interface.
 */
import { ProviderError, toBrokerError } from '../shared/errors.js';
import type {
  EraseRequest,
  GetRequest,
  StatusCacheEntry,
  StatusCounters,
  WireCredential,
} from '../shared/protocol.js';
import type { AuditLog } from './audit-log.js';
import { AUDIT_EVENTS, type AuditRecord } from './audit-line.js';
import type { CredentialEnvelope, RequestContext, ResolvedScope } from './provider.js';
import type { Integration, ProviderRegistry } from './provider-registry.js';
import type { TokenRevoker } from './token-revoker.js';
import { MintCoordinator, type MintOutcome } from './mint-coordinator.js';
import { dropGoneCredentials } from './gone-credentials.js';
import { goneScopeOf } from './scope-gone.js';
import { keyPrefixOf } from './cache-key-prefix.js';
import { assertScopeWithin } from './client-policy.js';
import { checkEnvelope } from './envelope-check.js';
import { chargeMiss, isPromise, rescopeGone, scopeRequest } from './request-scope.js';
import { eraseCredentials, type EraseDeps } from './credential-erase.js';
import { HitFactsMemo, toWire } from './hit-facts.js';
import { describeTarget, recordFailure, requestRecord, requireWritten } from './request-audit.js';
import {
  envelopeFingerprint,
  fingerprint,
  type CachedCredential,
  type TokenCache,
} from './token-cache.js';

export interface CredentialServiceOptions {
  registry: ProviderRegistry;
  cache: TokenCache;
  audit: AuditLog;
  /** Tracks minted credentials; erase revokes them. */
  revoker?: TokenRevoker;
  now?: () => number;
}

/** A request that reached a scope: what every audit line of a served credential needs. */
interface ServedRequest {
  request: GetRequest;
  context: RequestContext;
  startedMs: number;
  integration: Integration;
  scope: ResolvedScope;
}

export class CredentialService {
  readonly #registry: ProviderRegistry;
  readonly #cache: TokenCache;
  readonly #audit: AuditLog;
  readonly #now: () => number;
  readonly #revoker: TokenRevoker | undefined;
  // Single-flight, refresh-ahead and fallback live there.
  readonly #minter: MintCoordinator;
  readonly #minting = (cacheKey: string): boolean => this.#minter.minting(cacheKey);
  /** In order of first hit; dropped on erase, and the oldest past HIT_FACTS_KEPT. */
  readonly #hitFacts = new HitFactsMemo();
  readonly #eraseDeps: EraseDeps;
  readonly counters: StatusCounters = {
    hits: 0,
    misses: 0,
    mints: 0,
    denied: 0,
    errors: 0,
  };

  constructor(options: CredentialServiceOptions) {
    this.#registry = options.registry;
    this.#cache = options.cache;
    this.#audit = options.audit;
    this.#now = options.now ?? Date.now;
    this.#revoker = options.revoker;
    this.#minter = new MintCoordinator({
      cache: this.#cache,
      now: this.#now,
      revoked: (envelope) => this.#revoker?.isRevoked(envelope) ?? false,
      // A mint that ends after a reload retired its integration (found in
      // review): nothing could reach the entry, which would only wait to expire.
      cacheable: (scope) => this.#reachable()({ scope }),
      dropGone: (integration, gone, context) =>
        dropGoneCredentials(
          { cache: this.#cache, revoker: this.#revoker, hitFacts: this.#hitFacts },
          integration,
          gone,
          context,
        ),
      accept: (integration, target, scope, envelope, { requester }) => {
        checkEnvelope(envelope, integration.config.name, this.#now());
        this.counters.mints++;
        const described = describeTarget(target);
        this.#revoker?.track({ integration, scope, target: described, envelope, requester });
      },
    });
    this.#eraseDeps = {
      registry: this.#registry,
      cache: this.#cache,
      audit: this.#audit,
      revoker: this.#revoker,
      hitFacts: this.#hitFacts,
      now: this.#now,
    };
  }

  /**
   * Serves a credential. Every outcome is audited, and the audit line is in
   * the file before this resolves or rejects: before the reply leaves.
   */
  async get(asked: GetRequest, context: RequestContext): Promise<WireCredential> {
    const startedMs = this.#now();
    // Before anything is audited: a request that names no host is served,
    // and recorded, as one for the host chosen; refused, it is about no
    // credential (as a host no integration serves).
    const request =
      asked.hostFromDaemon === true
        ? { ...asked, target: { ...asked.target, host: this.#registry.soleHost() } }
        : asked;
    let integration: Integration | undefined;
    let scope: ResolvedScope | undefined;

    try {
      integration = this.#registry.route(request.target);
      // While the audit log cannot be written, mint nothing: a token minted
      // now could be neither served nor recorded. The audit log retries on
      // its own, and the failure line written below tries too.
      requireWritten(!this.#audit.failing);
      const scoping = scopeRequest(integration, request, context);
      scope = isPromise(scoping) ? await scoping : scoping;
      assertScopeWithin(context.policy, scope, integration, request.target);
      const served: ServedRequest = { request, context, startedMs, integration, scope };

      let hit = this.#cache.getNow(scope.cacheKey);
      if (hit && this.#revoker?.isRevoked(hit.envelope)) {
        // Revoked by an erase that raced the mint that cached it.
        this.#hitFacts.delete(hit.envelope);
        await this.#cache.delete(scope.cacheKey);
        hit = undefined;
      }
      if (hit) {
        const onRefreshed = this.#auditRefresh(served);
        this.#minter.refreshAhead(hit, integration, request.target, scope, context, onRefreshed);
        requireWritten(await this.#record(AUDIT_EVENTS.cacheHit, served, hit.envelope));
        // Counted once served: a hit refused for the audit log is an error.
        this.counters.hits++;
        return this.#hitFacts.get(hit.envelope).wire;
      }

      this.counters.misses++;
      chargeMiss(context, scope.cacheKey, this.#minting);
      let minted: MintOutcome;
      try {
        minted = await this.#mintUnrevoked(integration, request, scope, context);
      } catch (error) {
        if (goneScopeOf(error) === undefined) throw error;
        // Its installation is gone: resolved again (a lookup) and, when that
        // names another one, minted under it, once. Audited with the scope
        // it ends with: none when the lookup finds no installation at all.
        const gone: ResolvedScope = scope;
        scope = undefined;
        const moved = await rescopeGone(gone, integration, request, context);
        scope = moved ?? gone;
        if (moved === undefined) throw error;
        served.scope = moved;
        // No await from here to the mint's start: see chargeMiss.
        chargeMiss(context, moved.cacheKey, this.#minting);
        minted = await this.#mintUnrevoked(integration, request, moved, context);
      }
      const { envelope, shared, fallback } = minted;
      if (fallback) {
        const error = { code: fallback.code, message: fallback.message };
        requireWritten(await this.#record(AUDIT_EVENTS.fallback, served, envelope, { error }));
        return this.#hitFacts.get(envelope).wire;
      }
      const event = shared ? AUDIT_EVENTS.cacheHit : AUDIT_EVENTS.minted;
      const written = await this.#record(event, served, envelope);
      // A token whose mint was not recorded must not be served later either.
      if (!written && !shared) await this.#forget(envelope);
      requireWritten(written);
      return shared ? this.#hitFacts.get(envelope).wire : toWire(envelope, false);
    } catch (error) {
      const brokerError = toBrokerError(error);
      if (brokerError.code === 'DENIED') this.counters.denied++;
      else if (brokerError.code !== 'NO_INTEGRATION') this.counters.errors++;
      if (brokerError.code === 'INTERNAL') {
        context.log.error({ err: error }, 'unexpected error while serving a credential');
      }
      await recordFailure(
        this.#audit,
        this.#now,
        request,
        context,
        startedMs,
        integration,
        scope,
        brokerError,
      );
      throw brokerError;
    }
  }

  /** Drops, and revokes, what git found wanting: see credential-erase.ts. */
  erase(request: EraseRequest, context: RequestContext): Promise<number> {
    return eraseCredentials(this.#eraseDeps, request, context);
  }

  /**
   * What is cached and can be served, without the secrets. A token cached
   * under an integration that a reload renamed, removed or changed is never
   * served again (a hit looks up its integration's current key), so it is
   * not listed either (found in review: status listed it under the old name).
   */
  async cacheStatus(): Promise<StatusCacheEntry[]> {
    const reachable = this.#reachable();
    return (await this.#cache.entries()).filter(reachable).map((entry) => ({
      integration: entry.integration,
      repository: entry.scope.repository,
      permissions: entry.scope.permissions,
      expiresAtMs: entry.envelope.expiresAtMs,
      staleAtMs: entry.staleAtMs,
      ...(entry.scope.listener === undefined ? {} : { listener: entry.scope.listener }),
    }));
  }

  /**
   * After a reload: drops the cached tokens no integration can reach now,
   * which only wait to expire otherwise. They stay known to the revoker, so
   * an erase or the shutdown still revokes them. Returns how many.
   */
  async dropUnreachable(): Promise<number> {
    const reachable = this.#reachable();
    const dropped = await this.#cache.deleteWhere((entry) => !reachable(entry));
    for (const entry of dropped) this.#hitFacts.delete(entry.envelope);
    return dropped.length;
  }

  /** Whether a cached entry is under the key prefix of an integration in use now. */
  #reachable(): (entry: Pick<CachedCredential, 'scope'>) => boolean {
    const prefixes = this.#registry.integrations.map(({ config }) => keyPrefixOf(config));
    return (entry) => prefixes.some((prefix) => entry.scope.cacheKey.startsWith(prefix));
  }

  /** Waits for background refreshes; call after the server stops accepting. */
  drain(): Promise<void> {
    return this.#minter.drain();
  }

  #record(
    event: (typeof AUDIT_EVENTS)['minted' | 'cacheHit' | 'fallback'],
    { request, context, startedMs, integration, scope }: ServedRequest,
    envelope: CredentialEnvelope,
    extra?: Partial<AuditRecord>,
  ): Promise<boolean> {
    // Filled in place: every cache hit comes here, and copies cost.
    const record = requestRecord(request, context, startedMs, integration, scope, this.#now());
    record.permissions = envelope.granted.permissions;
    // Remembered for a token served from cache (it will likely be again),
    // worked out afresh otherwise: 10,000 minted tokens need no memo.
    if (event === AUDIT_EVENTS.cacheHit) {
      record.expiresAt = this.#hitFacts.get(envelope).expiresAt;
      record.tokenSha256 = envelopeFingerprint(envelope);
    } else {
      record.expiresAt = new Date(envelope.expiresAtMs).toISOString();
      record.tokenSha256 = fingerprint(envelope.secret);
    }
    if (extra !== undefined) Object.assign(record, extra);
    return this.#audit.record(event, record);
  }

  /**
   * Mints, and mints once more if an erase chose the token for revocation
   * while it was being minted: no request is handed a token being revoked.
   */
  async #mintUnrevoked(
    integration: Integration,
    request: GetRequest,
    scope: ResolvedScope,
    context: RequestContext,
  ): ReturnType<MintCoordinator['mint']> {
    const revoked = (minted: Awaited<ReturnType<MintCoordinator['mint']>>): boolean =>
      minted.fallback === undefined && (this.#revoker?.isRevoked(minted.envelope) ?? false);
    let minted = await this.#minter.mint(integration, request.target, scope, context);
    if (revoked(minted))
      minted = await this.#minter.mint(integration, request.target, scope, context);
    if (revoked(minted)) {
      throw new ProviderError(
        `the token minted for ${scope.repository} was revoked by an erase while it was minted; retry`,
      );
    }
    return minted;
  }

  /** Audits the mint a hit started in the background, once it is cached. */
  #auditRefresh(served: ServedRequest): (envelope: CredentialEnvelope) => void {
    const { context } = served;
    return (envelope) => {
      const forgetUnwritten = async (written: boolean): Promise<void> => {
        if (!written) await this.#forget(envelope);
      };
      this.#record(AUDIT_EVENTS.minted, served, envelope, { refreshedAhead: true })
        .then(forgetUnwritten)
        .catch((error: unknown) =>
          context.log.error({ err: toBrokerError(error) }, 'dropping an unrecorded token failed'),
        );
    };
  }

  /** Drops a cached credential whose mint the audit log could not record. */
  async #forget(envelope: CredentialEnvelope): Promise<void> {
    this.#hitFacts.delete(envelope);
    await this.#cache.deleteWhere((entry) => entry.envelope === envelope);
  }
}
