/**
 * What a credential request maps to once routed: the scope its client's
 * policy allows and its integration's provider resolves, under the cache
 * key that keeps integrations and listener sockets apart. Synchronous when
 * the provider's answer is: a cache hit then takes no extra async step.
 */
import type { GetRequest } from '../shared/protocol.js';
import { keyPrefixOf } from './cache-key-prefix.js';
import { authorizeRequest } from './client-policy.js';
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
