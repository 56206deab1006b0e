/**
 * Turns what GitHub answered into the broker's error family, with the fix a
 * user can apply. GitHub's own message is kept (it never holds a secret) but
 * cut short, since it comes from the network.
 */
import {
  ConfigError,
  GitHubApiError,
  RequestDeniedError,
  type BrokerError,
} from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { connectionFailure, describeConnectionFailure } from './connection-failure.js';
import { ProxyTunnelError } from './proxy-tunnel.js';
import type { Permissions } from '../../shared/protocol.js';
import { closestPermission, isKnownPermission } from '../permission-names.js';

interface HttpErrorLike {
  status?: unknown;
  message?: unknown;
  response?: { data?: unknown; headers?: Record<string, unknown> };
}

export interface GitHubCallContext {
  /** What the broker was doing: "looking up the installation for 'acme/widgets'". */
  action: string;
  appId: string;
  privateKeyPath: string;
  apiBaseUrl: string;
  /** `host:port` of the proxy calls go through, if any. */
  proxy?: string;
  /** For a mint: the permissions asked, and where the config sets their names. */
  permissions?: { asked: Permissions; configKey: string };
}

/** The proxy's refusal or failure behind a failed call, however deeply wrapped. */
function proxyFailure(error: unknown): ProxyTunnelError | undefined {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof ProxyTunnelError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Whether the call ran out of its time, however the HTTP client wrapped
 * that: octokit turns the fetch's TimeoutError into a RequestError whose
 * cause it is, and its name alone said "did not answer" (found in review).
 */
function timedOut(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current.name === 'TimeoutError') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The HTTP status GitHub answered a failed call with, or undefined when
 * GitHub did not answer. Every check of GitHub's status reads it here: a
 * proxy's refusal of the tunnel never counts, however it is wrapped, even
 * if an error someday carries the proxy's status as `status`.
 */
export function githubStatus(error: unknown): number | undefined {
  if (proxyFailure(error) !== undefined) return undefined;
  const status = (error as HttpErrorLike | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * What to check when GitHub refuses a mint as unprocessable (422): it does
 * not say which repository or permission it did not like. A name GitHub
 * does not document is the likeliest (a typo), and every name asked comes
 * from the integration's "permissions" (a request may only narrow them).
 */
function unprocessableFix(context: GitHubCallContext): string {
  const { permissions } = context;
  const unknown = Object.keys(permissions?.asked ?? {}).filter((name) => !isKnownPermission(name));
  if (permissions !== undefined && unknown.length > 0) {
    const names = unknown.map((name) => {
      const meant = closestPermission(name);
      return `'${name}'${meant === undefined ? '' : ` (did you mean '${meant}'?)`}`;
    });
    return `${names.join(', ')} ${names.length === 1 ? 'is not a permission' : 'are not permissions'} GitHub documents for App tokens; check ${permissions.configKey}`;
  }
  const check = permissions === undefined ? '' : ` (${permissions.configKey})`;
  return `the repository must be one the App is installed on, and the permissions${check} within what the installation was granted`;
}

function githubMessage(error: HttpErrorLike): string {
  const data = error.response?.data;
  const raw =
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { message?: unknown }).message === 'string'
      ? (data as { message: string }).message
      : '';
  return printable(raw, 200);
}

export function mapGitHubError(error: unknown, context: GitHubCallContext): BrokerError {
  const httpError = error as HttpErrorLike;
  const status = githubStatus(error);
  const message = githubMessage(httpError);
  const said = message === '' ? `HTTP ${status}` : `HTTP ${status} "${message}"`;

  // Octokit reports a connection failure or timeout as status 500 with no response.
  if (status === undefined || (status === 500 && httpError.response === undefined)) {
    const proxy = proxyFailure(error);
    if (proxy !== undefined) {
      // 407 and 403 stay so until the setup changes: git should stop, not prompt.
      const message = `cannot reach GitHub at '${context.apiBaseUrl}' while ${context.action}: ${proxy.message}`;
      return proxy.retryable
        ? new GitHubApiError(message, { cause: error })
        : new ConfigError(message, { cause: error });
    }
    const failure = connectionFailure(error);
    const explained = failure && describeConnectionFailure(failure, context.apiBaseUrl);
    if (failure !== undefined && explained !== undefined) {
      const text = `cannot reach GitHub while ${context.action}: ${explained}`;
      return failure.retryable
        ? new GitHubApiError(text, { cause: error })
        : new ConfigError(text, { cause: error });
    }
    const cause = timedOut(error) ? 'timed out' : 'did not answer';
    const via = context.proxy === undefined ? '' : ` (through proxy '${context.proxy}')`;
    const check = context.proxy === undefined ? 'the network' : 'the network, the proxy';
    return new GitHubApiError(
      `GitHub at '${context.apiBaseUrl}'${via} ${cause} while ${context.action}; check ${check} and apiBaseUrl, then retry`,
      { cause: error, ...(status === undefined ? {} : { status }) },
    );
  }
  if (status === 401 && /could not be decoded/i.test(message)) {
    return new ConfigError(
      `GitHub rejected the App JWT while ${context.action}: App ID '${context.appId}' and private key '${context.privateKeyPath}' do not match; use the key generated for that App`,
      { cause: error },
    );
  }
  if (status === 401 && /'(exp|iat)'/.test(message)) {
    return new GitHubApiError(
      `GitHub rejected the App JWT's time claims while ${context.action} (${said}); the local clock is off, sync it (NTP)`,
      { status, cause: error },
    );
  }
  if (status === 403 && /suspended/i.test(message)) {
    return new RequestDeniedError(
      `the GitHub App installation is suspended, found while ${context.action}; an owner must unsuspend it in the account's settings`,
      { cause: error },
    );
  }
  if (status === 403 || status === 429) {
    const retryAfter = httpError.response?.headers?.['retry-after'];
    const wait =
      typeof retryAfter === 'string' ? `; GitHub asks to retry after ${retryAfter} s` : '';
    return new GitHubApiError(`GitHub refused while ${context.action} (${said})${wait}`, {
      status,
      cause: error,
    });
  }
  if (status === 422) {
    return new RequestDeniedError(
      `GitHub refused while ${context.action} (${said}); ${unprocessableFix(context)}`,
      { cause: error },
    );
  }
  if (status >= 500) {
    return new GitHubApiError(`GitHub answered ${said} while ${context.action}; retry later`, {
      status,
      cause: error,
    });
  }
  return new GitHubApiError(`GitHub answered ${said} while ${context.action}`, {
    status,
    cause: error,
    quit: true,
  });
}
