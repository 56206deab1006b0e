/**
 * The GitHub App provider: finds the App's installation for a repository
 * and mints an installation token scoped to that one repository and the
 * integration's permissions, with @octokit/auth-app.
 */
import { createAppAuth } from '@octokit/auth-app';
import { request as octokitRequest } from '@octokit/request';
import { RequestDeniedError } from '../../shared/errors.js';
import type { CredentialTarget, PermissionLevel, Permissions } from '../../shared/protocol.js';
import type {
  CredentialEnvelope,
  CredentialProvider,
  RequestContext,
  RequestedScopes,
  ResolvedScope,
} from '../provider.js';
import { AppJwtSigner } from './github-app-jwt.js';
import type { GitHubAppOptions } from './github-app-kind.js';
import { GitHubClock } from './github-clock.js';
import { mapGitHubError, type GitHubCallContext } from './github-errors.js';
import { createRetryingFetch, DEFAULT_RETRY_POLICY } from './github-retry.js';
import { parseRepository, type RepositoryRef } from './github-repository.js';
import type { ProviderDeps } from './index.js';

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

/** A 401 about the JWT's `exp`/`iat` claims: the clocks disagree. */
function isClockSkewError(error: unknown): boolean {
  const { status, response } = error as { status?: number; response?: { data?: unknown } };
  const message = (response?.data as { message?: unknown } | undefined)?.message;
  return status === 401 && typeof message === 'string' && /'(exp|iat)'/.test(message);
}

function canonicalPermissions(permissions: Permissions): string {
  return Object.keys(permissions)
    .sort()
    .map((name) => `${name}=${permissions[name]}`)
    .join(',');
}

export class GitHubAppProvider implements CredentialProvider {
  readonly kind = 'github-app';
  readonly #options: GitHubAppOptions;
  readonly #auth: ReturnType<typeof createAppAuth>;
  readonly #appRequest: typeof octokitRequest;
  readonly #clock: GitHubClock;
  readonly #log: ProviderDeps['log'];
  // Installation id by lowercase owner/repo. Lives as long as the daemon;
  // dropped when git reports a failure for that repository.
  readonly #installations = new Map<string, number>();
  // One lookup per repository at a time: a burst of first requests shares it.
  readonly #lookups = new Map<string, Promise<number>>();

  constructor(options: GitHubAppOptions, deps: ProviderDeps) {
    this.#options = options;
    this.#log = deps.log;
    this.#clock = new GitHubClock(deps.now);
    const signer = new AppJwtSigner(options.appId, options.privateKeyPem, this.#clock);
    const baseRequest = octokitRequest.defaults({
      baseUrl: options.apiBaseUrl,
      headers: { 'user-agent': 'git-credential-broker' },
      request: {
        fetch: createRetryingFetch(
          { clock: this.#clock, log: deps.log },
          { ...DEFAULT_RETRY_POLICY, ...options.retry },
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
  }

  async resolveScope(
    target: CredentialTarget,
    requested: RequestedScopes,
    context: RequestContext,
  ): Promise<ResolvedScope> {
    const repository = parseRepository(target);
    const permissions = this.#permissionsFor(requested.permissions);
    const installationId = await this.#installationFor(repository, context);

    return {
      cacheKey: [
        this.kind,
        this.#options.apiBaseUrl,
        this.#options.appId,
        installationId,
        repository.key,
        canonicalPermissions(permissions),
      ].join('|'),
      repository: repository.key,
      permissions,
      metadata: { appId: this.#options.appId, installationId },
    };
  }

  async getCredential(
    target: CredentialTarget,
    scope: ResolvedScope,
    context: RequestContext,
  ): Promise<CredentialEnvelope> {
    const repository = parseRepository(target);
    const installationId = Number(scope.metadata.installationId);

    let token;
    try {
      token = await this.#mint(installationId, repository.name, scope.permissions);
    } catch (error) {
      // A removed installation answers 404; look it up afresh next time.
      if ((error as { status?: number }).status === 404) this.#installations.delete(repository.key);
      throw mapGitHubError(error, this.#callContext(`minting a token for '${repository.key}'`));
    }

    context.log.debug({ installationId, repository: repository.key }, 'minted installation token');
    return {
      secret: token.token,
      username: INSTALLATION_TOKEN_USERNAME,
      expiresAtMs: this.#clock.toLocalMs(Date.parse(token.expiresAt)),
      granted: {
        repositories: (token.repositoryNames ?? []).map((name) =>
          `${repository.owner}/${name}`.toLowerCase(),
        ),
        permissions: token.permissions as Permissions,
      },
      metadata: { appId: this.#options.appId, installationId },
    };
  }

  /**
   * Mints through auth-app, whose mint path has no clock-skew retry of its
   * own: after a refusal of the JWT's times, the clock has GitHub's time from
   * that answer's Date header, so one retry signs a JWT GitHub accepts.
   */
  async #mint(installationId: number, repositoryName: string, permissions: Permissions) {
    const mint = () =>
      this.#auth({
        type: 'installation',
        installationId,
        repositoryNames: [repositoryName],
        permissions,
        refresh: true,
      });
    try {
      return await mint();
    } catch (error) {
      if (!isClockSkewError(error)) throw error;
      this.#log.warn(
        { appId: this.#options.appId, offsetMs: this.#clock.offsetMs },
        'GitHub refused the App JWT times; retrying with its clock',
      );
      return await mint();
    }
  }

  repositoryOf(target: CredentialTarget): string | undefined {
    try {
      return parseRepository(target).key;
    } catch {
      return undefined;
    }
  }

  forget(_target: CredentialTarget, scope: ResolvedScope): void {
    this.#installations.delete(scope.repository);
  }

  /** The integration's permissions, or a narrower request within them. */
  #permissionsFor(requested: Permissions | undefined): Permissions {
    const ceiling = this.#options.permissions;
    if (requested === undefined || Object.keys(requested).length === 0) return { ...ceiling };

    for (const [name, level] of Object.entries(requested)) {
      const allowed = ceiling[name];
      if (allowed === undefined || LEVEL_RANK[level] > LEVEL_RANK[allowed]) {
        throw new RequestDeniedError(
          `permission '${name}: ${level}' is beyond what this integration grants (${canonicalPermissions(ceiling)}); ask for less or raise "permissions" in the broker config`,
        );
      }
    }
    return { ...requested };
  }

  async #installationFor(repository: RepositoryRef, context: RequestContext): Promise<number> {
    const known = this.#installations.get(repository.key);
    if (known !== undefined) return known;

    const pending = this.#lookups.get(repository.key);
    if (pending) return pending;
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
          `GitHub App '${this.#options.appId}' is not installed on '${repository.owner}/${repository.name}', or that repository does not exist; install the App on it (or its account) and retry`,
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

  #callContext(action: string): GitHubCallContext {
    return {
      action,
      appId: this.#options.appId,
      privateKeyPath: this.#options.privateKeyPath,
      apiBaseUrl: this.#options.apiBaseUrl,
    };
  }
}
