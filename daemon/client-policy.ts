/**
 * What one socket's clients may obtain: which repositories (owner/repository
 * patterns) and at most which permissions. Enforced by the daemon's core on
 * the provider's normalized repository, before the provider resolves the
 * request, so a request outside the policy never reaches GitHub.
 */
import { RequestDeniedError } from '../shared/errors.js';
import { printable } from '../shared/printable.js';
import type { CredentialTarget, PermissionLevel, Permissions } from '../shared/protocol.js';
import type { CredentialProvider, ResolvedScope } from './provider.js';

export interface ClientPolicy {
  /** Names the listener in errors, logs and audit records: its socket path. */
  name: string;
  /**
   * Lowercase `owner/repo` or `owner/*` (on any configured host), or
   * `host/owner/repo` or `host/owner/*` (on that host only); undefined
   * allows every repository.
   */
  allow?: readonly string[];
  /** The most a token served here may carry; undefined: the integration's. */
  permissions?: Permissions;
  /** Requests a minute that may reach GitHub (mint-limit.ts); undefined: no limit. */
  maxMintsPerMinute?: number;
  /** The group whose members may connect too (socket-access.ts); undefined: this user only. */
  group?: string;
}

/** An account and one repository in it, or all (`*`). */
const OWNER_REPOSITORY = '[a-z0-9][a-z0-9-]{0,38}/(\\*|[a-z0-9._-]{1,100})';

/** An allow-list entry without a host: `owner/repo` or `owner/*`. */
export const REPOSITORY_PATTERN = new RegExp(`^${OWNER_REPOSITORY}$`);

/**
 * An allow-list entry with a host, written as in the config's `host`
 * (lowercase, `:port` unless the default): `github.com/acme/*`.
 */
export const HOST_REPOSITORY_PATTERN = new RegExp(
  `^([a-z0-9.-]+(:[0-9]{1,5})?|\\[[0-9a-f:.]+\\](:[0-9]{1,5})?)/${OWNER_REPOSITORY}$`,
);

const LEVEL_RANK: Record<PermissionLevel, number> = { read: 1, write: 2, admin: 3 };

/**
 * True when the normalized repository on `host` (an integration's host, as
 * configured) matches one of the patterns.
 */
export function repositoryAllowed(
  patterns: readonly string[],
  host: string,
  repository: string,
): boolean {
  // Patterns name owner/repository; a path with more (or fewer) segments
  // matches none, whatever its first two are.
  const parts = repository.split('/');
  if (parts.length !== 2) return false;
  const [owner, name] = parts;
  return patterns.some((pattern) => {
    const split = pattern.split('/');
    // Without a host, a pattern means every host, as before hosts existed.
    if (split.length === 3 && split.shift() !== host) return false;
    const [allowedOwner, allowedName] = split;
    return allowedOwner === owner && (allowedName === '*' || allowedName === name);
  });
}

/** The permission names and levels in `permissions` that `ceiling` does not cover. */
export function permissionsBeyond(permissions: Permissions, ceiling: Permissions): string[] {
  return Object.entries(permissions)
    .filter(([name, level]) => {
      const allowed = Object.hasOwn(ceiling, name) ? ceiling[name] : undefined;
      return allowed === undefined || LEVEL_RANK[level] > LEVEL_RANK[allowed];
    })
    .map(([name, level]) => `${name}: ${level}`);
}

/** What a policy judges a request with: the integration that serves it. */
export interface PolicyIntegration {
  provider: CredentialProvider;
  /** `host`: as configured, lowercase and without a default port. */
  config: { host: string };
}

/**
 * Checks a request against the policy before the provider sees it. Returns
 * the permissions to ask the provider for: what the client asked, else the
 * policy's ceiling. Throws RequestDeniedError.
 */
export function authorizeRequest(
  policy: ClientPolicy | undefined,
  { provider, config: { host } }: PolicyIntegration,
  target: CredentialTarget,
  requested: Permissions | undefined,
): Permissions | undefined {
  if (policy === undefined) return requested;

  if (policy.allow !== undefined) {
    if (target.path === undefined || target.path === '') {
      throw new RequestDeniedError(
        `git did not send a repository path for '${target.host}', and socket '${policy.name}' serves only named repositories; run: git config --global credential.${target.protocol}://${target.host}.useHttpPath true`,
      );
    }
    // The provider's own normalization (case, `.git`, escapes, slashes) is
    // what it would mint for, so it is what the policy must judge.
    const repository = provider.repositoryOf?.(target);
    if (repository === undefined || !repositoryAllowed(policy.allow, host, repository)) {
      throw new RequestDeniedError(
        `repository '${repository ?? printable(target.path ?? '', 200)}' on host '${host}' is not allowed on socket '${policy.name}'; allowed there: ${policy.allow.join(', ')}`,
      );
    }
  }
  if (policy.permissions === undefined) return requested;

  // An empty object means "the default", as it does to providers.
  const asked = requested !== undefined && Object.keys(requested).length > 0;
  const permissions = asked ? requested : policy.permissions;
  const beyond = permissionsBeyond(permissions, policy.permissions);
  if (beyond.length > 0) {
    throw new RequestDeniedError(
      `permission '${beyond.join(', ')}' is beyond what socket '${policy.name}' allows; ask for less or raise that listener's "permissions" in the broker config`,
    );
  }
  return permissions;
}

/**
 * Checks the scope the provider resolved: the same repository the policy
 * judged and no more than its permissions. A mismatch means a provider
 * normalizes differently in two places; refuse rather than guess.
 */
export function assertScopeWithin(
  policy: ClientPolicy | undefined,
  scope: ResolvedScope,
  { provider, config: { host } }: PolicyIntegration,
  target: CredentialTarget,
): void {
  if (policy === undefined) return;

  const repository = provider.repositoryOf?.(target);
  const wrongRepository =
    policy.allow !== undefined &&
    (scope.repository !== repository || !repositoryAllowed(policy.allow, host, scope.repository));
  const beyond =
    policy.permissions === undefined
      ? []
      : permissionsBeyond(scope.permissions, policy.permissions);
  if (wrongRepository || beyond.length > 0) {
    throw new RequestDeniedError(
      `the scope resolved for '${(target.path ?? '').slice(0, 200)}' is outside the policy of socket '${policy.name}'`,
    );
  }
}
