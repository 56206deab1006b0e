/**
 * How the GitHub App provider reaches GitHub's REST API: the two request
 * functions it calls (one signed with the App JWT, one for calls that carry
 * their own token), and what to say when a base URL answers like no GitHub.
 */
import { createAppAuth } from '@octokit/auth-app';
import { request as octokitRequest } from '@octokit/request';
import { AppJwtSigner } from './github-app-jwt.js';
import type { GitHubAppOptions } from './github-app-kind.js';
import type { GitHubClock } from './github-clock.js';
import { createRetryingFetch, DEFAULT_RETRY_POLICY } from './github-retry.js';
import { createHttpFetch } from './http-fetch.js';
import type { ProviderDeps } from './index.js';
import type { ProxyRoute } from './proxy-env.js';

/** github.com's REST API; every other host must name its own. */
export const DEFAULT_API_BASE_URL = 'https://api.github.com';

// auth-app keeps its own token cache; the daemon owns caching (its keys
// cover the App and API base, its TTL follows the token's expiry).
const NO_CACHE = {
  // auth-app's type says string, but it treats any falsy value as a miss.
  get: (): string => '',
  set: (): void => undefined,
};

export interface GitHubRequests {
  /** Signed with the App JWT: installation lookups and mints. */
  app: typeof octokitRequest;
  /** Unsigned: for calls authenticated with an installation token. */
  token: typeof octokitRequest;
}

/**
 * Both request functions share one retrying fetch through `route` (the
 * proxy, or direct), and every answer's Date header sets `clock`.
 */
export function createGitHubRequests(
  options: GitHubAppOptions,
  deps: ProviderDeps,
  clock: GitHubClock,
  route: ProxyRoute,
): GitHubRequests {
  const signer = new AppJwtSigner(options.appId, options.privateKeyPem, clock);
  const baseRequest = octokitRequest.defaults({
    baseUrl: options.apiBaseUrl,
    headers: { 'user-agent': 'git-credential-broker' },
    request: {
      fetch: createRetryingFetch(
        { clock, log: deps.log },
        { ...DEFAULT_RETRY_POLICY, ...options.retry },
        createHttpFetch(route),
      ),
    },
  });
  const auth = createAppAuth({
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
  return { app: baseRequest.defaults({ request: { hook: auth.hook } }), token: baseRequest };
}

/**
 * What to add to a 404's message about `base`. GitHub's 404 carries a JSON
 * message; anything else means the URL is not GitHub's API.
 */
export function apiBaseHint(error: unknown, base: string): string {
  const data = (error as { response?: { data?: unknown } }).response?.data;
  const fromGitHub = typeof data === 'object' && data !== null && 'message' in data;
  if (!fromGitHub) {
    return ` (the 404 did not come from a GitHub API: check apiBaseUrl '${base}'; GitHub Enterprise Server uses https://HOST/api/v3)`;
  }
  // A GHES web root answers API paths with GitHub-style 404s too.
  return base !== DEFAULT_API_BASE_URL && !/\/api\/v3$/.test(base)
    ? `; if '${base}' is a GitHub Enterprise Server, its apiBaseUrl ends in /api/v3`
    : '';
}
