/**
 * An App token's permissions as the GitHub App provider judges them: a
 * request may narrow the integration's permissions, never widen them, and
 * equal sets are compared and keyed the same however they were spelt.
 */
import { RequestDeniedError } from '../../shared/errors.js';
import type { PermissionLevel, Permissions } from '../../shared/protocol.js';
import { closestPermission, isKnownPermission } from '../permission-names.js';

const LEVEL_RANK: Record<PermissionLevel, number> = { read: 1, write: 2, admin: 3 };

/** `name=level` pairs sorted by name: one spelling per set, for cache keys and messages. */
export function canonicalPermissions(permissions: Permissions): string {
  return Object.keys(permissions)
    .sort()
    .map((name) => `${name}=${permissions[name]}`)
    .join(',');
}

export function samePermissions(a: Permissions, b: Permissions): boolean {
  const names = Object.keys(a);
  return (
    names.length === Object.keys(b).length &&
    names.every((name) => Object.hasOwn(b, name) && b[name] === a[name])
  );
}

/**
 * The permissions to mint with: `ceiling` itself (the same object, so that
 * scopes share it) when nothing narrower is asked or the request equals it,
 * else a copy of the request. Throws RequestDeniedError for a name GitHub
 * does not have, or a permission beyond the ceiling.
 */
export function permissionsWithin(
  ceiling: Permissions,
  requested: Permissions | undefined,
): Permissions {
  if (requested === undefined || Object.keys(requested).length === 0) return ceiling;

  for (const [name, level] of Object.entries(requested)) {
    // Own keys only: 'constructor' or 'toString' must not pass as granted.
    const allowed = Object.hasOwn(ceiling, name) ? ceiling[name] : undefined;
    if (allowed === undefined && !isKnownPermission(name)) {
      // Found in a new-user trial: `content=read` was told to raise the
      // config, which cannot help with a name GitHub does not have.
      const meant = closestPermission(name);
      throw new RequestDeniedError(
        `permission '${name}' is not one GitHub documents for App tokens${meant === undefined ? '' : ` (did you mean '${meant}'?)`}; this integration grants ${canonicalPermissions(ceiling)}`,
      );
    }
    if (allowed === undefined || LEVEL_RANK[level] > LEVEL_RANK[allowed]) {
      throw new RequestDeniedError(
        `permission '${name}: ${level}' is beyond what this integration grants (${canonicalPermissions(ceiling)}); ask for less or raise "permissions" in the broker config`,
      );
    }
  }
  return samePermissions(requested, ceiling) ? ceiling : { ...requested };
}
