/**
 * The GitHub App provider: finds the App's installation for a repository
 * and mints an installation token scoped to that one repository and the
 * integration's permissions, with @octokit/auth-app.
 */
import { createAppAuth } from '@octokit/auth-app';
import { request as octokitRequest } from '@octokit/request';
import { RequestDeniedError } from '../../shared/errors.js';
import { closestPermission, isKnownPermission } from '../permission-names.js';
import type {
  CredentialTarget,
  PermissionLevel,
  Permissions,
  StatusApi,
} from '../../shared/protocol.js';
import type {
  CredentialEnvelope,
  CredentialProvider,
  RequestContext,
  RequestedScopes,
  ResolvedScope,
  RevokeOutcome,
} from '../provider.js';
import { AppJwtSigner } from './github-app-jwt.js';
import type { GitHubAppOptions } from './github-app-kind.js';
import { GitHubClock } from './github-clock.js';
import { mapGitHubError, type GitHubCallContext } from './github-errors.js';
import { createRetryingFetch, DEFAULT_RETRY_POLICY } from './github-retry.js';
import { createHttpFetch } from './http-fetch.js';
import { describeRoute, DIRECT } from './proxy-env.js';
import { parseRepository, type RepositoryRef } from './github-repository.js';
import { readMintResponse } from './github-token-response.js';
import { revokeInstallationToken } from './github-revoke.js';
import type { ProviderDeps } from './index.js';

/** github.com's REST API; every other host must name its own. */
export const DEFAULT_API_BASE_URL = 'https://api.github.com';

/** Git over HTTPS takes an installation token with this user name. */
export const INSTALLATION_TOKEN_USERNAME = 'x-access-token';

const LEVEL_RANK: Record<PermissionLevel, number> = { read: 1, write: 2, admin: 3 };

// auth-app keeps its own token cache; the daemon owns caching (its keys
// cover the App and API base, its TTL follows the token's expiry).
const NO_CACHE = {
  // auth-app's type says string, but it treats any falsy value as a miss.
  get: (): string => '',
  set: (): void => undefined,
};

function canonicalPermissions(permissions: Permissions): string {
  return Object.keys(permissions)
    .sort()
    .map((name) => `${name}=${permissions[name]}`)
    .join(',');
}

function samePermissions(a: Permissions, b: Permissions): boolean {
  const names = Object.keys(a);
  return (
    names.length === Object.keys(b).length &&
    names.every((name) => Object.hasOwn(b, name) && b[name] === a[name])
  );
}

/** Provider facts audited with every scope and credential of one installation. */
type InstallationMetadata = Readonly<{ appId: string; installationId: number }>;

export class GitHubAppProvider implements CredentialProvider {
  readonly kind = 'github-app';
  readonly api: StatusApi;
  readonly #options: GitHubAppOptions;
  readonly #auth: ReturnType<typeof createAppAuth>;
  readonly #appRequest: typeof octokitRequest;
  readonly #tokenRequest: typeof octokitRequest;
  readonly #clock: GitHubClock;
  // Installation id by lowercase owner/repo. Lives as long as the daemon;
  // dropped when git reports a failure for that repository.
  readonly #installations = new Map<string, number>();
  // One lookup per repository at a time: a burst of first requests shares it.
  readonly #lookups = new Map<string, Promise<number>>();
  // Every cached scope and credential holds permissions and metadata; most
  // are the integration's own permissions and one installation's facts, so
  // they share one frozen object each instead of one per scope (the daemon
  // keeps thousands). Bounded: one per installation of this App.
  readonly #ceiling: Permissions;
  /** The cache key's parts that never change, and the ceiling's key: worked out once. */
  readonly #keyPrefix: string;
  readonly #ceilingKey: string;
  readonly #metadata = new Map<number, InstallationMetadata>();
  // GitHub's grant is usually the same set every time (what was asked, plus
  // metadata:read); the last one is kept to be shared by the next equal one.
  #lastGranted: Permissions | undefined;

  constructor(options: GitHubAppOptions, deps: ProviderDeps) {
    this.#options = options;
    this.#ceiling = Object.freeze({ ...options.permissions });
    this.#keyPrefix = [this.kind, options.apiBaseUrl, options.appId, ''].join('|');
    this.#ceilingKey = canonicalPermissions(this.#ceiling);
    this.#clock = new GitHubClock(deps.now);
    const route = options.proxy ?? DIRECT;
    this.api = describeRoute(new URL(options.apiBaseUrl), route);
    const signer = new AppJwtSigner(options.appId, options.privateKeyPem, this.#clock);
    const baseRequest = octokitRequest.defaults({
      baseUrl: options.apiBaseUrl,
      headers: { 'user-agent': 'git-credential-broker' },
      request: {
        fetch: createRetryingFetch(
          { clock: this.#clock, log: deps.log },
          { ...DEFAULT_RETRY_POLICY, ...options.retry },
          createHttpFetch(route),
        ),
      },
    });
    this.#auth = createAppAuth({
      appId: options.appId,
      // Our signer dates the JWT by GitHub's clock (learnt from every
      // response) and reuses it for minutes; see github-app-jwt.ts.
      createJwt: async () => signer.sign(),
      request: baseRequest,
      cache: NO_CACHE,
      log: { warn: (message: string) => deps.log.warn({ appId: options.appId }, message) },
    });
    // The hook signs with the App JWT; on clock skew it retries once, by when
    // the clock has learnt GitHub's time from the refusal's Date header.
    this.#appRequest = baseRequest.defaults({ request: { hook: this.#auth.hook } });
    this.#tokenRequest = baseRequest;
  }

  /** Synchronous once the repository's installation is known: every cache hit. */
  resolveScope(
    target: CredentialTarget,
    requested: RequestedScopes,
    context: RequestContext,
  ): ResolvedScope | Promise<ResolvedScope> {
    const repository = parseRepository(target);
    const owners = this.#options.owners;
    if (owners !== undefined && !owners.includes(repository.owner.toLowerCase())) {
      throw new RequestDeniedError(
        `account '${repository.owner}' is not in this integration's "owners" (${owners.join(', ')}); add it to the broker config to allow it`,
      );
    }
    const permissions = this.#permissionsFor(requested.permissions);
    const known = this.#installations.get(repository.key);
    if (known !== undefined) return this.#scope(repository, permissions, known);
    return this.#installationFor(repository, context).then((installationId) =>
      this.#scope(repository, permissions, installationId),
    );
  }

  #scope(
    repository: RepositoryRef,
    permissions: Permissions,
    installationId: number,
  ): ResolvedScope {
    return {
      cacheKey: [
        this.#keyPrefix,
        installationId,
        '|',
        repository.key,
        '|',
        permissions === this.#ceiling ? this.#ceilingKey : canonicalPermissions(permissions),
      ].join(''),
      repository: repository.key,
      permissions,
      metadata: this.#metadataFor(installationId),
    };
  }

  async getCredential(
    target: CredentialTarget,
    scope: ResolvedScope,
    context: RequestContext,
  ): Promise<CredentialEnvelope> {
    const repository = parseRepository(target);
    const installationId = Number(scope.metadata.installationId);

    let data: unknown;
    try {
      // Through the auth hook: signed with the App JWT, retried once on clock
      // skew (by then the clock has GitHub's time from the refusal's Date
      // header). Not through auth-app's installation auth, whose in-flight
      // map is shared by every App in the process and keyed without the App.
      const response = await this.#appRequest(
        'POST /app/installations/{installation_id}/access_tokens',
        {
          installation_id: installationId,
          repositories: [repository.name],
          permissions: scope.permissions,
        },
      );
      data = response.data;
    } catch (error) {
      // A removed installation answers 404; look it up afresh next time.
      if ((error as { status?: number }).status === 404) this.#installations.delete(repository.key);
      const asked = Object.entries(scope.permissions)
        .map(([name, level]) => `${name}:${level}`)
        .join(',');
      throw mapGitHubError(error, {
        ...this.#callContext(`minting a token for '${repository.key}' with permissions ${asked}`),
        permissions: {
          asked: scope.permissions,
          configKey:
            this.#options.permissionsKey ?? `the integration's "permissions" in the broker config`,
        },
      });
    }

    const minted = readMintResponse(data, {
      repository: `${repository.owner}/${repository.name}`,
      name: repository.name,
      permissions: scope.permissions,
      // Compared and returned in local time, whatever the local clock's error.
      nowMs: this.#clock.localNowMs(),
      toLocalMs: (githubMs) => this.#clock.toLocalMs(githubMs),
    });
    context.log.debug({ installationId, repository: repository.key }, 'minted installation token');
    return {
      secret: minted.secret,
      username: INSTALLATION_TOKEN_USERNAME,
      expiresAtMs: minted.expiresAtMs,
      granted: {
        repositories: [repository.key],
        permissions: this.#shared(minted.permissions, scope.permissions),
      },
      metadata: this.#metadataFor(installationId),
    };
  }

  repositoryOf(target: CredentialTarget): string | undefined {
    try {
      return parseRepository(target).key;
    } catch {
      return undefined;
    }
  }

  revoke(envelope: CredentialEnvelope, context?: { signal?: AbortSignal }): Promise<RevokeOutcome> {
    return revokeInstallationToken(
      this.#tokenRequest,
      envelope,
      this.#clock.localNowMs(),
      this.#callContext('revoking an installation token'),
      context?.signal,
    );
  }

  forget(_target: CredentialTarget, scope: ResolvedScope): void {
    this.#installations.delete(scope.repository);
  }

  /** The integration's permissions, or a narrower request within them. */
  #permissionsFor(requested: Permissions | undefined): Permissions {
    const ceiling = this.#ceiling;
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

  /** `granted`, or an equal object the daemon already holds. */
  #shared(granted: Permissions, asked: Permissions): Permissions {
    if (samePermissions(granted, asked)) return asked;
    if (this.#lastGranted === undefined || !samePermissions(granted, this.#lastGranted)) {
      this.#lastGranted = Object.freeze(granted);
    }
    return this.#lastGranted;
  }

  #metadataFor(installationId: number): InstallationMetadata {
    let metadata = this.#metadata.get(installationId);
    if (metadata === undefined) {
      metadata = Object.freeze({ appId: this.#options.appId, installationId });
      this.#metadata.set(installationId, metadata);
    }
    return metadata;
  }

  async #installationFor(repository: RepositoryRef, context: RequestContext): Promise<number> {
    const known = this.#installations.get(repository.key);
    if (known !== undefined) return known;

    const pending = this.#lookups.get(repository.key);
    if (pending) return pending;
    // A lookup spends the App's rate limit as a mint does: a socket's
    // maxMintsPerMinute covers it (a 404 is not remembered, so asking for
    // repositories that do not exist would otherwise call GitHub unchecked).
    context.mintLimit?.spend(context);
    const lookup = this.#lookUpInstallation(repository, context);
    this.#lookups.set(repository.key, lookup);
    try {
      return await lookup;
    } finally {
      this.#lookups.delete(repository.key);
    }
  }

  async #lookUpInstallation(repository: RepositoryRef, context: RequestContext): Promise<number> {
    let installationId: number;
    try {
      const response = await this.#appRequest('GET /repos/{owner}/{repo}/installation', {
        owner: repository.owner,
        repo: repository.name,
      });
      installationId = response.data.id;
    } catch (error) {
      if ((error as { status?: number }).status === 404) {
        throw new RequestDeniedError(
          `GitHub App '${this.#options.appId}' is not installed on '${repository.owner}/${repository.name}', or that repository does not exist; install the App on it (or its account) and retry${this.#apiHint(error)}`,
        );
      }
      throw mapGitHubError(
        error,
        this.#callContext(`looking up the installation for '${repository.key}'`),
      );
    }
    if (!Number.isSafeInteger(installationId) || installationId <= 0) {
      throw mapGitHubError(
        {
          status: 502,
          response: { data: { message: 'installation lookup returned no valid id' } },
        },
        this.#callContext(`looking up the installation for '${repository.key}'`),
      );
    }

    context.log.debug({ installationId, repository: repository.key }, 'found installation');
    this.#installations.set(repository.key, installationId);
    return installationId;
  }

  /** GitHub's 404 carries a JSON message; anything else means the URL is not GitHub's API. */
  #apiHint(error: unknown): string {
    const data = (error as { response?: { data?: unknown } }).response?.data;
    const fromGitHub = typeof data === 'object' && data !== null && 'message' in data;
    const base = this.#options.apiBaseUrl;
    if (!fromGitHub) {
      return ` (the 404 did not come from a GitHub API: check apiBaseUrl '${base}'; GitHub Enterprise Server uses https://HOST/api/v3)`;
    }
    // A GHES web root answers API paths with GitHub-style 404s too.
    return base !== DEFAULT_API_BASE_URL && !/\/api\/v3$/.test(base)
      ? `; if '${base}' is a GitHub Enterprise Server, its apiBaseUrl ends in /api/v3`
      : '';
  }

  #callContext(action: string): GitHubCallContext {
    return {
      action,
      appId: this.#options.appId,
      privateKeyPath: this.#options.privateKeyPath,
      apiBaseUrl: this.#options.apiBaseUrl,
      ...(this.api.proxy === 'none' ? {} : { proxy: this.api.proxy }),
    };
  }
}
