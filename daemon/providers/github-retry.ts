/**
 * The fetch every GitHub call goes through: a timeout on each attempt,
 * bounded retries with jitter on 5xx, connection errors and rate limits
 * (honouring `retry-after`, else `x-ratelimit-reset`), none on a 4xx that
 * will not change (GitHub's, or a proxy's refusal of the tunnel), and the
 * `Date` header of every answer fed to the clock.
 */
import type { Logger } from 'pino';
import type { GitHubClock } from './github-clock.js';
import { httpFetch, type FetchInit } from './http-fetch.js';
import { ProxyTunnelError } from './proxy-tunnel.js';
import { connectionFailure } from './connection-failure.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** First backoff step; doubles per retry, with full jitter. */
  baseDelayMs: number;
  /** Longest single wait; a rate limit asking for longer is not waited out. */
  maxDelayMs: number;
  /** Each attempt is abandoned after this long. */
  attemptTimeoutMs: number;
  /** All attempts and waits of one call end within this (the helper waits 30 s). */
  totalBudgetMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  attemptTimeoutMs: 10_000,
  totalBudgetMs: 25_000,
};

export interface RetryDeps {
  clock: GitHubClock;
  log: Logger;
  /** [0, 1), for jitter; Math.random unless a test pins it. */
  random?: () => number;
}

/** What the policy reads of an answer: fetch's Response and httpFetch's both have it. */
export interface RetryableResponse {
  status: number;
  headers: { get(name: string): string | null; has(name: string): boolean };
  body?: { cancel(): Promise<void> } | null;
}

type Fetch = (url: string, init: FetchInit) => Promise<RetryableResponse>;

/** Seconds or an HTTP date, as `retry-after` may carry; ms from GitHub's now. */
function retryAfterMs(value: string, githubNowMs: number): number | undefined {
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - githubNowMs);
}

function isRateLimited(response: RetryableResponse): boolean {
  if (response.status === 429) return true;
  return (
    response.status === 403 &&
    (response.headers.has('retry-after') || response.headers.get('x-ratelimit-remaining') === '0')
  );
}

/**
 * How long to wait before retrying after `response`, or undefined when it
 * must not be retried. `retry` counts retries made so far.
 */
export function retryDelayMs(
  response: RetryableResponse,
  retry: number,
  policy: RetryPolicy,
  githubNowMs: number,
  random: () => number,
): number | undefined {
  const backoffMs = random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  if (response.status >= 500) return backoffMs;
  if (!isRateLimited(response)) return undefined;

  const retryAfter = response.headers.get('retry-after');
  const reset = response.headers.get('x-ratelimit-reset');
  let waitMs: number | undefined;
  if (retryAfter !== null) waitMs = retryAfterMs(retryAfter, githubNowMs);
  else if (reset !== null && /^\d+$/.test(reset)) {
    waitMs = Math.max(0, Number(reset) * 1000 - githubNowMs);
  }
  // A little jitter on top, so many clients told the same time do not return at once.
  return waitMs === undefined ? backoffMs : waitMs + random() * policy.baseDelayMs;
}

/**
 * Waits, or less once `signal` aborts: the next attempt then fails at once
 * with the signal's reason, so an aborted call never waits out a backoff
 * (up to maxDelayMs) first.
 */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Wraps fetch with the policy above. */
export function createRetryingFetch(
  deps: RetryDeps,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  baseFetch: Fetch = httpFetch,
): Fetch {
  const random = deps.random ?? Math.random;

  return async (url, init) => {
    const startedMs = Date.now();
    // The backoff listens on a signal of this call's own: the caller's may
    // be shared by thousands of calls (a shutdown's revocations), and Node
    // warns past ten listeners on one signal. any() adds none to its sources.
    const waitSignal = init.signal ? AbortSignal.any([init.signal]) : undefined;
    for (let attempt = 1; ; attempt++) {
      const leftMs = policy.totalBudgetMs - (Date.now() - startedMs);
      const timeout = AbortSignal.timeout(Math.max(1, Math.min(policy.attemptTimeoutMs, leftMs)));
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      const last = attempt >= policy.maxAttempts;

      let response: RetryableResponse;
      try {
        response = await baseFetch(url, { ...init, signal });
      } catch (error) {
        // A proxy asking for credentials (407), refusing the host (403) or
        // showing an untrusted certificate answers the same way every time,
        // as does a GitHub whose certificate or host name is not accepted.
        const proxy = error instanceof ProxyTunnelError ? error : undefined;
        const settled = proxy?.retryable === false || connectionFailure(error)?.retryable === false;
        if (last || init.signal?.aborted || settled) throw error;
        // A proxy's 408, 429 or 503 may say when to come back, as GitHub's
        // answers do; its date is the proxy's, so read against our clock.
        const askedMs =
          proxy?.retryAfter === undefined ? undefined : retryAfterMs(proxy.retryAfter, Date.now());
        const waitMs =
          askedMs !== undefined
            ? askedMs + random() * policy.baseDelayMs
            : random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
        if (waitMs > policy.maxDelayMs || !fitsBudget(waitMs)) throw error;
        deps.log.warn(
          { err: error, attempt, waitMs: Math.round(waitMs) },
          error instanceof ProxyTunnelError
            ? 'the proxy did not open a tunnel to GitHub; retrying'
            : `GitHub did not answer (${connectionFailure(error)?.code ?? 'no answer'}); retrying`,
        );
        await sleep(waitMs, waitSignal);
        continue;
      }

      deps.clock.observe(response.headers.get('date'));
      const waitMs = last
        ? undefined
        : retryDelayMs(response, attempt - 1, policy, deps.clock.githubNowMs(), random);
      if (waitMs === undefined || waitMs > policy.maxDelayMs || !fitsBudget(waitMs)) {
        return response;
      }
      deps.log.warn(
        { status: response.status, attempt, waitMs: Math.round(waitMs) },
        'GitHub answered with a retryable error; retrying',
      );
      await response.body?.cancel();
      await sleep(waitMs, waitSignal);
    }

    function fitsBudget(waitMs: number): boolean {
      return Date.now() - startedMs + waitMs < policy.totalBudgetMs;
    }
  };
}
