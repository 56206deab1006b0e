/**
 * What the daemon does with the credentials of a scope gone upstream (see
 * scope-gone.ts): GitHub revoked every token of an installation when it was
 * removed, so they are dropped from the cache (never served again, nor
 * listed by status) and from the revoker's list (a revocation could only
 * answer 401), each audited as revoked by upstream.
 */
import type { HitFactsMemo } from './hit-facts.js';
import type { RequestContext, ResolvedScope } from './provider.js';
import type { Integration } from './provider-registry.js';
import { isUnderGoneScope, type GoneScope } from './scope-gone.js';
import type { TokenCache } from './token-cache.js';
import type { TokenRevoker } from './token-revoker.js';

export interface GoneCredentialsDeps {
  cache: TokenCache;
  revoker: TokenRevoker | undefined;
  hitFacts: HitFactsMemo;
}

/**
 * Drops every credential `integration` issued under `gone`, on every socket
 * and for every repository: an installation covers many, and all its
 * tokens went with it.
 */
export async function dropGoneCredentials(
  deps: GoneCredentialsDeps,
  integration: Integration,
  gone: GoneScope,
  context: RequestContext,
): Promise<void> {
  const under = (name: string, scope: ResolvedScope): boolean =>
    name === integration.config.name && isUnderGoneScope(scope.metadata, gone);

  const dropped = await deps.cache.deleteWhere((entry) => under(entry.integration, entry.scope));
  for (const entry of dropped) deps.hitFacts.delete(entry.envelope);
  const forgotten =
    (await deps.revoker?.forgetRevokedUpstream(
      (issued) => under(issued.integration.config.name, issued.scope),
      // Audited with the socket and requester each token was minted for.
      { reason: gone.reason, requestId: context.requestId },
    )) ?? 0;

  context.log.info(
    {
      integration: integration.config.name,
      gone: gone.metadata,
      reason: gone.reason,
      droppedFromCache: dropped.length,
      forgotten,
    },
    'dropped the credentials of a scope gone upstream',
  );
}
