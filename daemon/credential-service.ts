/**
 * The daemon's core: routes a request, serves it from the cache or mints
 * through the provider, and audits the outcome. Knows providers only through
 * the provider interface.
 */
import { ProviderError, toBrokerError, type BrokerError } from '../shared/errors.js';
import type {
  CredentialTarget,
  EraseRequest,
  GetRequest,
  Permissions,
  StatusCacheEntry,
  StatusCounters,
  WireCredential,
} from '../shared/protocol.js';
import { assertScopeWithin, authorizeRequest, permissionsBeyond } from './client-policy.js';
import { AUDIT_EVENTS, type AuditLog, type AuditRecord } from './audit-log.js';
import type { CredentialEnvelope, RequestContext, ResolvedScope } from './provider.js';
import type { Integration, ProviderRegistry } from './provider-registry.js';
import type { TokenRevoker } from './token-revoker.js';
import { fingerprint, staleAtMs, type CachedCredential, type TokenCache } from './token-cache.js';

export interface CredentialServiceOptions {
  registry: ProviderRegistry;
  cache: TokenCache;
  audit: AuditLog;
  /** Tracks minted credentials; erase revokes them. */
  revoker?: TokenRevoker;
  now?: () => number;
}

export function describeTarget(target: CredentialTarget): string {
  return `${target.protocol}://${target.host}/${target.path ?? ''}`;
}

function toWire(envelope: CredentialEnvelope, cached: boolean): WireCredential {
  return {
    username: envelope.username,
    secret: envelope.secret,
    expiresAtMs: envelope.expiresAtMs,
    granted: envelope.granted,
    cached,
  };
}

/**
 * Every provider's credential passes these checks before it is cached or
 * served: one that git cannot use fails this request, not every later one.
 */
function checkEnvelope(envelope: CredentialEnvelope, integration: string, nowMs: number): void {
  const problem =
    typeof envelope.secret !== 'string' || !/^[^\r\n\0]{1,8192}$/.test(envelope.secret)
      ? 'no usable secret'
      : typeof envelope.username !== 'string' || /[\r\n\0]/.test(envelope.username)
        ? 'no usable username'
        : !Number.isFinite(envelope.expiresAtMs) || envelope.expiresAtMs <= nowMs
          ? 'an expiry that is invalid or already past'
          : undefined;
  if (problem !== undefined) {
    throw new ProviderError(`integration '${integration}' produced a credential with ${problem}`);
  }
}

export class CredentialService {
  readonly #registry: ProviderRegistry;
  readonly #cache: TokenCache;
  readonly #audit: AuditLog;
  readonly #now: () => number;
  readonly #revoker: TokenRevoker | undefined;
  // One mint per scope at a time: concurrent misses share the first's result.
  readonly #inFlight = new Map<string, Promise<CredentialEnvelope>>();
  readonly counters: StatusCounters = { hits: 0, misses: 0, mints: 0, errors: 0 };

  constructor(options: CredentialServiceOptions) {
    this.#registry = options.registry;
    this.#cache = options.cache;
    this.#audit = options.audit;
    this.#now = options.now ?? Date.now;
    this.#revoker = options.revoker;
  }

  async get(request: GetRequest, context: RequestContext): Promise<WireCredential> {
    const startedMs = this.#now();
    let integration: Integration | undefined;
    let scope: ResolvedScope | undefined;

    try {
      integration = this.#registry.route(request.target);
      const { provider } = integration;
      const permissions = authorizeRequest(
        context.policy,
        provider,
        request.target,
        request.permissions,
      );
      const requested = permissions ? { permissions } : {};
      scope = await provider.resolveScope(request.target, requested, context);
      assertScopeWithin(context.policy, scope, provider, request.target);

      const hit = await this.#cache.get(scope.cacheKey);
      if (hit) {
        this.counters.hits++;
        this.#record(
          AUDIT_EVENTS.cacheHit,
          request,
          context,
          startedMs,
          integration,
          scope,
          hit.envelope,
        );
        return toWire(hit.envelope, true);
      }

      this.counters.misses++;
      const { envelope, shared } = await this.#mintOnce(
        integration,
        request.target,
        scope,
        context,
      );
      const event = shared ? AUDIT_EVENTS.cacheHit : AUDIT_EVENTS.minted;
      this.#record(event, request, context, startedMs, integration, scope, envelope);
      return toWire(envelope, shared);
    } catch (error) {
      const brokerError = toBrokerError(error);
      this.counters.errors++;
      if (brokerError.code === 'INTERNAL') {
        context.log.error({ err: error }, 'unexpected error while serving a credential');
      }
      this.#recordFailure(request, context, startedMs, integration, scope, brokerError);
      throw brokerError;
    }
  }

  /**
   * Drops cached credentials for the target's repository. With a password,
   * only the entry holding that secret: git erases the credential it just
   * used, and a newer token for the same scope must survive.
   */
  async erase(request: EraseRequest, context: RequestContext): Promise<number> {
    const startedMs = this.#now();
    const integration = this.#registry.route(request.target);
    // A client may not erase (and so revoke) what it could not have obtained.
    try {
      authorizeRequest(context.policy, integration.provider, request.target, undefined);
    } catch (error) {
      const brokerError = toBrokerError(error);
      this.#recordFailure(request, context, startedMs, integration, undefined, brokerError);
      throw brokerError;
    }
    const scope = await integration.provider.resolveScope(request.target, {}, context);
    const wanted = request.password === undefined ? undefined : fingerprint(request.password);
    // Nor touch a token beyond its socket's ceiling: a read-only sandbox must
    // not revoke the write token another client is pushing with.
    const ceiling = context.policy?.permissions;
    const within = (permissions: Permissions): boolean =>
      ceiling === undefined || permissionsBeyond(permissions, ceiling).length === 0;

    const deleted = await this.#cache.deleteWhere(
      (entry) =>
        entry.integration === integration.config.name &&
        entry.scope.repository === scope.repository &&
        within(entry.scope.permissions) &&
        (wanted === undefined || fingerprint(entry.envelope.secret) === wanted),
    );
    integration.provider.forget?.(request.target, scope);

    this.#audit.record(AUDIT_EVENTS.erased, {
      ...this.#baseRecord(request, context, startedMs, integration, scope),
      // Only a token the daemon issued is fingerprinted: the password git
      // sends may be a person's own.
      tokenSha256: deleted.length > 0 ? fingerprint(deleted[0]!.envelope.secret) : null,
      erased: deleted.length,
    });
    // Git erases a credential it found wanting: make sure no one else can use it.
    await this.#revoker?.revokeWhere(
      (issued) =>
        issued.integration === integration &&
        issued.scope.repository === scope.repository &&
        within(issued.scope.permissions) &&
        (wanted === undefined || issued.tokenSha256 === wanted),
      {
        reason: 'erase',
        requestId: context.requestId,
        requester: request.requester,
        listener: context.policy?.name ?? null,
        log: context.log,
      },
    );
    return deleted.length;
  }

  /** What is cached, without the secrets. */
  async cacheStatus(): Promise<StatusCacheEntry[]> {
    return (await this.#cache.entries()).map((entry) => ({
      integration: entry.integration,
      repository: entry.scope.repository,
      permissions: entry.scope.permissions,
      expiresAtMs: entry.envelope.expiresAtMs,
      staleAtMs: entry.staleAtMs,
    }));
  }

  async #mintOnce(
    integration: Integration,
    target: CredentialTarget,
    scope: ResolvedScope,
    context: RequestContext,
  ): Promise<{ envelope: CredentialEnvelope; shared: boolean }> {
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
    const envelope = await integration.provider.getCredential(target, scope, context);
    this.counters.mints++;
    this.#revoker?.track({ integration, scope, target: describeTarget(target), envelope });
    const nowMs = this.#now();
    checkEnvelope(envelope, integration.config.name, nowMs);
    const entry: CachedCredential = {
      integration: integration.config.name,
      scope,
      envelope,
      staleAtMs: staleAtMs({
        nowMs,
        expiresAtMs: envelope.expiresAtMs,
        ttlMs: integration.config.cacheTtlSeconds * 1000,
        minLifeMs: integration.config.minTokenLifeSeconds * 1000,
      }),
    };
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

  #baseRecord(
    request: GetRequest | EraseRequest,
    context: RequestContext,
    startedMs: number,
    integration: Integration | undefined,
    scope: ResolvedScope | undefined,
  ): AuditRecord {
    const installation = scope?.metadata.installationId;
    return {
      requestId: context.requestId,
      integration: integration?.config.name ?? null,
      provider: integration?.provider.kind ?? null,
      target: describeTarget(request.target),
      repository: scope?.repository ?? integration?.provider.repositoryOf?.(request.target) ?? null,
      installation: installation ?? null,
      permissions: scope?.permissions ?? null,
      expiresAt: null,
      durationMs: this.#now() - startedMs,
      requester: request.requester,
      listener: context.policy?.name ?? null,
      tokenSha256: null,
    };
  }

  #record(
    event: (typeof AUDIT_EVENTS)['minted' | 'cacheHit'],
    request: GetRequest,
    context: RequestContext,
    startedMs: number,
    integration: Integration,
    scope: ResolvedScope,
    envelope: CredentialEnvelope,
  ): void {
    this.#audit.record(event, {
      ...this.#baseRecord(request, context, startedMs, integration, scope),
      permissions: envelope.granted.permissions,
      expiresAt: new Date(envelope.expiresAtMs).toISOString(),
      tokenSha256: fingerprint(envelope.secret),
    });
  }

  #recordFailure(
    request: GetRequest | EraseRequest,
    context: RequestContext,
    startedMs: number,
    integration: Integration | undefined,
    scope: ResolvedScope | undefined,
    error: BrokerError,
  ): void {
    // A host we do not serve is not an event about a credential.
    if (error.code === 'NO_INTEGRATION') return;
    const event = error.code === 'DENIED' ? AUDIT_EVENTS.denied : AUDIT_EVENTS.failed;
    this.#audit.record(event, {
      ...this.#baseRecord(request, context, startedMs, integration, scope),
      error: { code: error.code, message: error.message },
    });
  }
}
