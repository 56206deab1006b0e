/**
 * Which installation of the App covers a repository: looked up once
 * (`GET /repos/{owner}/{repo}/installation`), then remembered for the
 * daemon's life, until GitHub says the installation is gone (a mint's 404):
 * then every repository it covered is looked up again.
 * Not forgotten on git's erase: a cached token's next hit would then need a
 * lookup, which spends the socket's maxMintsPerMinute, and any socket's
 * client can send an erase.
 */
import type { request as octokitRequest } from '@octokit/request';
import { RequestDeniedError } from '../../shared/errors.js';
import type { RequestContext } from '../provider.js';
import { apiBaseHint } from './github-api.js';
import { githubStatus, mapGitHubError, type GitHubCallContext } from './github-errors.js';
import type { RepositoryRef } from './github-repository.js';

export interface InstallationLookupOptions {
  appId: string;
  apiBaseUrl: string;
  /** Signed with the App JWT. */
  request: typeof octokitRequest;
  callContext: (action: string) => GitHubCallContext;
}

export class InstallationLookup {
  readonly #options: InstallationLookupOptions;
  // Installation id by lowercase owner/repo.
  readonly #installations = new Map<string, number>();
  // One lookup per repository at a time: a burst of first requests shares it.
  readonly #lookups = new Map<string, Promise<number>>();

  constructor(options: InstallationLookupOptions) {
    this.#options = options;
  }

  /** The installation already found for `key` (owner/repo, lowercase): every cache hit asks. */
  known(key: string): number | undefined {
    return this.#installations.get(key);
  }

  /**
   * Looks up every repository `installationId` covered next time: GitHub
   * says it is gone. All of them, not the one whose mint found out: an App
   * uninstalled from an account is gone for each of its repositories, and
   * each would otherwise fail one mint of its own to learn it.
   */
  forgetInstallation(installationId: number): void {
    for (const [key, id] of this.#installations) {
      if (id === installationId) this.#installations.delete(key);
    }
  }

  /** The installation covering `repository`; RequestDeniedError when there is none. */
  async find(repository: RepositoryRef, context: RequestContext): Promise<number> {
    const known = this.#installations.get(repository.key);
    if (known !== undefined) return known;

    const pending = this.#lookups.get(repository.key);
    if (pending) return pending;
    // A lookup spends the App's rate limit as a mint does: a socket's
    // maxMintsPerMinute covers it (a 404 is not remembered, so asking for
    // repositories that do not exist would otherwise call GitHub unchecked).
    context.mintLimit?.spend(context);
    const lookup = this.#lookUp(repository, context);
    this.#lookups.set(repository.key, lookup);
    try {
      return await lookup;
    } finally {
      this.#lookups.delete(repository.key);
    }
  }

  async #lookUp(repository: RepositoryRef, context: RequestContext): Promise<number> {
    const { appId, apiBaseUrl, request, callContext } = this.#options;
    let installationId: number;
    try {
      const response = await request('GET /repos/{owner}/{repo}/installation', {
        owner: repository.owner,
        repo: repository.name,
      });
      installationId = response.data.id;
    } catch (error) {
      if (githubStatus(error) === 404) {
        throw new RequestDeniedError(
          `GitHub App '${appId}' is not installed on '${repository.owner}/${repository.name}', or that repository does not exist; install the App on it (or its account) and retry${apiBaseHint(error, apiBaseUrl)}`,
        );
      }
      throw mapGitHubError(
        error,
        callContext(`looking up the installation for '${repository.key}'`),
      );
    }
    if (!Number.isSafeInteger(installationId) || installationId <= 0) {
      throw mapGitHubError(
        {
          status: 502,
          response: { data: { message: 'installation lookup returned no valid id' } },
        },
        callContext(`looking up the installation for '${repository.key}'`),
      );
    }

    context.log.debug({ installationId, repository: repository.key }, 'found installation');
    this.#installations.set(repository.key, installationId);
    return installationId;
  }
}
