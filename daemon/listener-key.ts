/**
 * Which socket a cached token belongs to. Tokens are never shared between
 * sockets: one socket's clients could otherwise erase (and revoke) a token
 * another socket is using, making that socket's next request a miss that
 * spends its maxMintsPerMinute, or is refused by it.
 */
import type { RequestContext } from './provider.js';

const listenerKeys = new WeakMap<object, string>();

/** The socket a request came in on (its policy's name); undefined when it has none. */
export function listenerOf(context: RequestContext): string | undefined {
  return context.policy?.name;
}

/** The part of a cache key that names the socket: worked out once per policy. */
export function listenerKeyOf(context: RequestContext): string {
  const { policy } = context;
  if (policy === undefined) return '|';
  let key = listenerKeys.get(policy);
  if (key === undefined) {
    key = `${JSON.stringify(policy.name)}|`;
    listenerKeys.set(policy, key);
  }
  return key;
}
