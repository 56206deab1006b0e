/**
 * What `erase` does: drops the cached tokens git found wanting and revokes
 * them at GitHub, within what the asking socket may touch. Split from the
 * credential service, whose `get` path it shares nothing with but state.
 */
import { toBrokerError } from '../shared/errors.js';
import type { EraseRequest, Permissions } from '../shared/protocol.js';
import type { AuditLog } from './audit-log.js';
import { AUDIT_EVENTS } from './audit-line.js';
import { authorizeRequest, permissionsBeyond } from './client-policy.js';
import type { HitFactsMemo } from './hit-facts.js';
import type { RequestContext, ResolvedScope } from './provider.js';
import { listenerOf } from './listener-key.js';
import type { Integration, ProviderRegistry } from './provider-registry.js';
import { recordFailure, requestRecord } from './request-audit.js';
import { envelopeFingerprint, fingerprint, type TokenCache } from './token-cache.js';
import type { TokenRevoker } from './token-revoker.js';

/** The credential service's state that an erase reads and changes. */
export interface EraseDeps {
  registry: ProviderRegistry;
  cache: TokenCache;
  audit: AuditLog;
  revoker: TokenRevoker | undefined;
  hitFacts: HitFactsMemo;
  now: () => number;
}

/**
 * Drops cached credentials for the target's repository. With a password,
 * only the entry holding that secret: git erases the credential it just
 * used, and a newer token for the same scope must survive. Returns how many
 * entries were dropped.
 */
export async function eraseCredentials(
  deps: EraseDeps,
  request: EraseRequest,
  context: RequestContext,
): Promise<number> {
  const { registry, cache, audit, revoker, hitFacts, now } = deps;
  const startedMs = now();
  const integration = registry.route(request.target);
  // A client may not erase (and so revoke) what it could not have obtained.
  try {
    authorizeRequest(context.policy, integration, request.target, undefined);
  } catch (error) {
    const brokerError = toBrokerError(error);
    await recordFailure(
      audit,
      now,
      request,
      context,
      startedMs,
      integration,
      undefined,
      brokerError,
    );
    throw brokerError;
  }
  const repository = await erasedRepository(integration, request, context);
  const wanted = request.password === undefined ? undefined : fingerprint(request.password);
  // Nor touch a token beyond its socket's ceiling: a read-only sandbox must
  // not revoke the write token another client is pushing with.
  const ceiling = context.policy?.permissions;
  // "Unspecified" (a provider's empty set) counts as beyond any ceiling.
  const within = (permissions: Permissions): boolean =>
    ceiling === undefined ||
    (Object.keys(permissions).length > 0 && permissionsBeyond(permissions, ceiling).length === 0);
  // With the token in hand, it alone identifies the entry, even one cached
  // under an integration that a reload renamed or replaced.
  // An integration renamed by a reload leaves its tokens under a name no
  // integration has now: they are this repository's too.
  const current = new Set(registry.integrations.map(({ config }) => config.name));
  const sameIntegration = (name: string): boolean =>
    wanted !== undefined || name === integration.config.name || !current.has(name);
  // Tokens are never shared between sockets: an erase on one never makes
  // another socket's next request a miss that spends its limit.
  const listener = listenerOf(context);
  const erasable = (scope: ResolvedScope): boolean =>
    scope.listener === listener && scope.repository === repository && within(scope.permissions);

  const deleted = await cache.deleteWhere(
    (entry) =>
      sameIntegration(entry.integration) &&
      erasable(entry.scope) &&
      (wanted === undefined || envelopeFingerprint(entry.envelope) === wanted),
  );
  for (const entry of deleted) hitFacts.delete(entry.envelope);

  await audit.record(AUDIT_EVENTS.erased, {
    ...requestRecord(request, context, startedMs, integration, deleted[0]?.scope, now()),
    repository,
    // Only a token the daemon issued is fingerprinted: the password git
    // sends may be a person's own.
    tokenSha256: deleted.length > 0 ? envelopeFingerprint(deleted[0]!.envelope) : null,
    erased: deleted.length,
  });
  // Git erases a credential it found wanting: make sure no one else can use it.
  // A revocation of this repository's that failed before is tried again,
  // whatever token this erase names: git's erase names the token it used
  // last, never the one erased before (found in review).
  await revoker?.revokeWhere(
    (issued) =>
      sameIntegration(issued.integration.config.name) &&
      erasable(issued.scope) &&
      (wanted === undefined ||
        envelopeFingerprint(issued.envelope) === wanted ||
        revoker.hasFailed(issued)),
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

/**
 * The repository an erase is about, found without calling upstream: erase
 * needs no installation, and a lookup here would spend (and could be
 * refused by) the socket's maxMintsPerMinute, or call GitHub unchecked for
 * repositories that do not exist. Null when the path names none: nothing
 * the daemon minted can then match.
 */
async function erasedRepository(
  { provider }: Integration,
  request: EraseRequest,
  context: RequestContext,
): Promise<string | null> {
  if (provider.repositoryOf !== undefined) return provider.repositoryOf(request.target) ?? null;
  // A provider that cannot name the repository alone resolves the scope,
  // with no limit to spend: erase is never refused by it.
  const uncharged: RequestContext = {
    requestId: context.requestId,
    requester: context.requester,
    get log() {
      return context.log;
    },
  };
  if (context.policy !== undefined) uncharged.policy = context.policy;
  return (await provider.resolveScope(request.target, {}, uncharged)).repository;
}
