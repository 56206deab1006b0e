/**
 * The GitHub App provider: finds the App's installation for a repository
 * and mints an installation token scoped to that one repository and the
 * integration's permissions, with @octokit/auth-app.
 */
import type { request as octokitRequest } from '@octokit/request';
import { GitHubApiError, RequestDeniedError } from '../../shared/errors.js';
import type { CredentialTarget, Permissions, StatusApi } from '../../shared/protocol.js';
import type {
  CredentialEnvelope,
  CredentialProvider,
  RequestContext,
  RequestedScopes,
  ResolvedScope,
  RevokeOutcome,
} from '../provider.js';
import { createGitHubRequests } from './github-api.js';
import type { GitHubAppOptions } from './github-app-kind.js';
import { GitHubClock } from './github-clock.js';
import { githubStatus, mapGitHubError, type GitHubCallContext } from './github-errors.js';
import { InstallationLookup } from './github-installations.js';
import { canonicalPermissions, permissionsWithin, samePermissions } from './github-permissions.js';
import { describeRoute, DIRECT } from './proxy-env.js';
import { parseRepository, type RepositoryRef } from './github-repository.js';
import { readMintResponse } from './github-token-response.js';
import { revokeInstallationToken } from './github-revoke.js';
import { markScopeGone } from '../scope-gone.js';
import type { ProviderDeps } from './index.js';

export { DEFAULT_API_BASE_URL } from './github-api.js';

/** Git over HTTPS takes an installation token with this user name. */
export const INSTALLATION_TOKEN_USERNAME = 'x-access-token';

/** Provider facts audited with every scope and credential of one installation. */
type InstallationMetadata = Readonly<{ appId: string; installationId: number }>;

export class GitHubAppProvider implements CredentialProvider {
  readonly kind = 'github-app';
  readonly api: StatusApi;
  readonly #options: GitHubAppOptions;
  readonly #appRequest: typeof octokitRequest;
  readonly #tokenRequest: typeof octokitRequest;
  readonly #clock: GitHubClock;
  readonly #installations: InstallationLookup;
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
    const requests = createGitHubRequests(options, deps, this.#clock, route);
    this.#appRequest = requests.app;
    this.#tokenRequest = requests.token;
    this.#installations = new InstallationLookup({
      appId: options.appId,
      apiBaseUrl: options.apiBaseUrl,
      request: this.#appRequest,
      callContext: (action) => this.#callContext(action),
    });
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
    const permissions = permissionsWithin(this.#ceiling, requested.permissions);
    const known = this.#installations.known(repository.key);
    if (known !== undefined) return this.#scope(repository, permissions, known);
    return this.#installations
      .find(repository, context)
      .then((installationId) => this.#scope(repository, permissions, installationId));
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
      const asked = Object.entries(scope.permissions)
        .map(([name, level]) => `${name}:${level}`)
        .join(',');
      const mapped = mapGitHubError(error, {
        ...this.#callContext(`minting a token for '${repository.key}' with permissions ${asked}`),
        permissions: {
          asked: scope.permissions,
          configKey:
            this.#options.permissionsKey ?? `the integration's "permissions" in the broker config`,
        },
      });
      if (githubStatus(error) !== 404) throw mapped;
      // A removed installation answers 404 (so does one the App was
      // uninstalled from and installed on again, under a new id): every
      // repository it covered is looked up afresh, and the core resolves
      // this request again at once instead of failing it.
      this.#installations.forgetInstallation(installationId);
      // Seen by the client only when the installation found again answers
      // 404 too, or is this same one: say what happened and what helps.
      const gone = new GitHubApiError(
        `${mapped.message}: the App's installation for '${repository.key}' was removed or changed while minting; run git again, which looks it up afresh`,
        { status: 404, cause: error, quit: true },
      );
      throw markScopeGone(gone, {
        metadata: this.#metadataFor(installationId),
        reason: 'installation_removed',
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
