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
import type { RequestContext } from './provider.js';
import type { ProviderRegistry } from './provider-registry.js';
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
  const scope = await integration.provider.resolveScope(request.target, {}, context);
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

  const deleted = await cache.deleteWhere(
    (entry) =>
      sameIntegration(entry.integration) &&
      entry.scope.repository === scope.repository &&
      within(entry.scope.permissions) &&
      (wanted === undefined || envelopeFingerprint(entry.envelope) === wanted),
  );
  for (const entry of deleted) hitFacts.delete(entry.envelope);
  integration.provider.forget?.(request.target, scope);

  await audit.record(AUDIT_EVENTS.erased, {
    ...requestRecord(request, context, startedMs, integration, scope, now()),
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
      issued.scope.repository === scope.repository &&
      within(issued.scope.permissions) &&
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
