/**
 * Checks GitHub's answer to a mint before anything is cached or handed out:
 * a usable token, a future expiry, and no more than was asked for. A broken
 * or over-broad answer fails this one request instead of poisoning the cache.
 */
import { GitHubApiError } from '../../shared/errors.js';
import type { PermissionLevel, Permissions } from '../../shared/protocol.js';

const LEVEL_RANK: Record<string, number> = { read: 1, write: 2, admin: 3 };

export interface MintedToken {
  secret: string;
  expiresAtMs: number;
  permissions: Permissions;
}

export interface MintRequest {
  /** `owner/name` as asked, for messages. */
  repository: string;
  name: string;
  permissions: Permissions;
  /** Local time now. */
  nowMs: number;
  /** Turns a time GitHub reported into local time (clock skew). */
  toLocalMs?: (githubMs: number) => number;
}

function refuse(request: MintRequest, problem: string): never {
  throw new GitHubApiError(
    `GitHub's answer to the mint for '${request.repository}' ${problem}; the token was not used`,
    { status: 502 },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readMintResponse(data: unknown, request: MintRequest): MintedToken {
  if (!isRecord(data)) refuse(request, 'is not a JSON object');

  const { token, expires_at: expiresAt, repositories, repository_selection: selection } = data;
  // A token is opaque and may be long; it only has to fit on one git line.
  if (typeof token !== 'string' || !/^[\x21-\x7e]{1,8192}$/.test(token)) {
    refuse(request, 'has no usable "token"');
  }
  const githubMs = typeof expiresAt === 'string' ? Date.parse(expiresAt) : Number.NaN;
  const expiresAtMs = request.toLocalMs ? request.toLocalMs(githubMs) : githubMs;
  if (!Number.isFinite(expiresAtMs)) refuse(request, 'has no valid "expires_at"');
  if (expiresAtMs <= request.nowMs) {
    refuse(request, "holds a token that has already expired (check this machine's clock)");
  }

  const names = Array.isArray(repositories)
    ? repositories.map((repo: unknown) => (isRecord(repo) ? String(repo.name).toLowerCase() : ''))
    : [];
  if (selection === 'all' || names.length !== 1 || names[0] !== request.name.toLowerCase()) {
    refuse(request, `covers other repositories than '${request.repository}'`);
  }

  const granted: Permissions = {};
  for (const [name, level] of Object.entries(isRecord(data.permissions) ? data.permissions : {})) {
    const asked = Object.hasOwn(request.permissions, name) ? request.permissions[name] : undefined;
    // GitHub adds metadata:read to every installation token.
    const implicit = name === 'metadata' && level === 'read';
    if (typeof level !== 'string' || !(level in LEVEL_RANK)) {
      refuse(request, `grants an unknown level for '${name}'`);
    }
    if (!implicit && (asked === undefined || LEVEL_RANK[level]! > LEVEL_RANK[asked]!)) {
      refuse(request, `grants more than asked ('${name}: ${level}')`);
    }
    granted[name] = level as PermissionLevel;
  }
  return { secret: token, expiresAtMs, permissions: granted };
}
