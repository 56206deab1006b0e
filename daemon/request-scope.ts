/**
 * What a credential request maps to once routed: the scope its client's
 * policy allows and its integration's provider resolves, under the cache
 * key that keeps integrations and listener sockets apart. Synchronous when
 * the provider's answer is: a cache hit then takes no extra async step.
 */
import type { GetRequest } from '../shared/protocol.js';
import { keyPrefixOf } from './cache-key-prefix.js';
import { assertScopeWithin, authorizeRequest } from './client-policy.js';
import { listenerKeyOf, listenerOf } from './listener-key.js';
import type { RequestContext, ResolvedScope } from './provider.js';
import type { Integration } from './provider-registry.js';

/** A provider's answer, awaited only when it is a promise: a hit then stays synchronous. */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * The scope `request` gets from `integration` on the socket of `context`;
 * throws when the client's policy refuses what it asks. Whether the policy
 * allows the scope resolved is the caller's to check (assertScopeWithin),
 * once it holds the scope: a refusal then is audited with it.
 */
export function scopeRequest(
  integration: Integration,
  request: GetRequest,
  context: RequestContext,
): ResolvedScope | Promise<ResolvedScope> {
  const permissions = authorizeRequest(
    context.policy,
    integration,
    request.target,
    request.permissions,
  );
  const requested = permissions ? { permissions } : {};
  const resolving = integration.provider.resolveScope(request.target, requested, context);
  return isPromise(resolving)
    ? resolving.then((resolved) => keyed(integration, context, resolved))
    : keyed(integration, context, resolving);
}

/**
 * The request's scope resolved anew after a mint said `gone` is gone
 * upstream (see scope-gone.ts): for a GitHub App, a fresh installation
 * lookup. Undefined when it resolves to that same scope again: not minted
 * twice, which could loop. The socket's limit is the caller's to charge
 * (chargeMiss), in the same synchronous step that starts the mint: checked
 * here, before the caller resumes, every request of a burst that shared
 * the failed mint saw no mint in flight, and each was charged.
 */
export async function rescopeGone(
  gone: ResolvedScope,
  integration: Integration,
  request: GetRequest,
  context: RequestContext,
): Promise<ResolvedScope | undefined> {
  const scoping = scopeRequest(integration, request, context);
  const scope = isPromise(scoping) ? await scoping : scoping;
  if (scope.cacheKey === gone.cacheKey) return undefined;
  assertScopeWithin(context.policy, scope, integration, request.target);

  context.log.info(
    { repository: scope.repository, from: gone.metadata, to: scope.metadata },
    'minting again under the scope that replaced one gone upstream',
  );
  return scope;
}

/**
 * Charges a miss to the socket's maxMintsPerMinute, unless it will join a
 * mint in flight (`minting`), which calls GitHub no more than a hit does.
 * Call it in the same synchronous step that starts (or joins) the mint:
 * with an await between, a burst of misses all see none in flight.
 * A request is charged once however often it is called (MintLimiter).
 */
export function chargeMiss(
  context: RequestContext,
  cacheKey: string,
  minting: (cacheKey: string) => boolean,
): void {
  if (context.mintLimit !== undefined && !minting(cacheKey)) context.mintLimit.spend(context);
}

function keyed(
  integration: Integration,
  context: RequestContext,
  resolved: ResolvedScope,
): ResolvedScope {
  const scope: ResolvedScope = {
    ...resolved,
    cacheKey: keyPrefixOf(integration.config) + listenerKeyOf(context) + resolved.cacheKey,
  };
  const listener = listenerOf(context);
  if (listener !== undefined) scope.listener = listener;
  return scope;
}
