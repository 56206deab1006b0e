/**
 * What each way a proxy refuses or fails means for the user: the error,
 * whether trying again can help, and what to check. A refusal names the
 * proxy, never the origin: the proxy's 407 or 502 is not GitHub's.
 */
import type { ProxyEndpoint } from './proxy-env.js';

/**
 * Per request, handed to the agent through the request's options: the
 * call's deadline, and how far the tunnel got, for the message when the
 * deadline passes first.
 */
export interface TunnelState {
  signal?: AbortSignal | undefined;
  phase: 'connecting' | 'waiting' | 'open';
}

/** The proxy refused, failed or stalled; says which proxy and what to check. */
export class ProxyTunnelError extends Error {
  constructor(
    message: string,
    /** `host:port` of the proxy. */
    readonly proxy: string,
    /** False when trying again cannot help (407, 403, an untrusted certificate): the setup must change. */
    readonly retryable: boolean,
    options?: { cause?: unknown; proxyStatus?: number; retryAfter?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyTunnelError';
    this.proxyStatus = options?.proxyStatus;
    this.retryAfter = options?.retryAfter;
  }

  /**
   * The proxy's HTTP status, when it answered the CONNECT. Not named
   * `status`, which code judging GitHub's answers reads: a proxy's 403 or
   * 404 is not GitHub refusing or an App that is not installed.
   */
  readonly proxyStatus: number | undefined;
  /** The `Retry-After` of that answer (seconds or an HTTP date), when it had one. */
  readonly retryAfter: string | undefined;
}

export function named(proxy: ProxyEndpoint): string {
  return `proxy '${proxy.label}' (from ${proxy.variable})`;
}

/** What a CONNECT answer other than 2xx (and 1xx, skipped) means for the user. */
export function refusal(
  proxy: ProxyEndpoint,
  target: string,
  answer: { status: number; reason: string; retryAfter?: string },
): ProxyTunnelError {
  const { status, reason } = answer;
  const said = `HTTP ${status}${reason === '' ? '' : ` ${reason}`}`;
  const options = {
    proxyStatus: status,
    ...(answer.retryAfter === undefined ? {} : { retryAfter: answer.retryAfter }),
  };
  const fail = (message: string, retryable: boolean): ProxyTunnelError =>
    new ProxyTunnelError(`${named(proxy)} ${message}`, proxy.label, retryable, options);

  if (status === 407) {
    return fail(
      proxy.hasCredentials
        ? `rejected the user name and password in ${proxy.variable} (${said}); correct them (percent-encode special characters)`
        : `asks for a user name and password (${said}); put them in ${proxy.variable}: http://USER:PASSWORD@${proxy.label}`,
      false,
    );
  }
  if (status >= 500) {
    return fail(
      `could not open a tunnel to '${target}' (${said}); check that the proxy can reach that host`,
      true,
    );
  }
  // A timeout or a rate limit passes: retried like a 5xx, after Retry-After.
  if (status === 408 || status === 429) {
    return fail(
      `turned away the request for a tunnel to '${target}' for now (${said}); retry later`,
      true,
    );
  }
  // 403, and any other refusal of this host: only the proxy's rules can change that.
  if (status >= 400 && status !== 404 && status !== 405) {
    return fail(
      `refused a tunnel to '${target}' (${said}); ask its administrators to allow CONNECT to that host and port, or list the host in NO_PROXY if it is reachable without the proxy`,
      false,
    );
  }
  // 404/405 (a web server, or a proxy that only forwards), 101, 3xx: no tunnel here, ever.
  return fail(
    `does not open tunnels: it answered the CONNECT for '${target}' with ${said}; check that ${proxy.variable} names an HTTP proxy that supports CONNECT`,
    false,
  );
}

/** Certificate checks that fail the same way every time until the setup changes. */
function isCertificateFailure(code: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|INVALID_CA|HOSTNAME_MISMATCH/.test(code);
}

/**
 * The error for a TLS failure talking to an https:// proxy, or undefined
 * when `code` is not one (a refused or reset connection).
 */
export function tlsFailure(
  proxy: ProxyEndpoint,
  code: string | undefined,
  cause: unknown,
): ProxyTunnelError | undefined {
  if (proxy.protocol !== 'https:' || code === undefined) return undefined;
  let message: string;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    message = `the certificate of ${named(proxy)} does not hold the name '${proxy.host}' (${code}); write ${proxy.variable} with a name or address the proxy's certificate holds`;
  } else if (isCertificateFailure(code)) {
    message = `the certificate of ${named(proxy)} is not trusted (${code}); if a private CA issued it, put that CA's certificate in a file named by NODE_EXTRA_CA_CERTS in the daemon's environment`;
  } else if (code.startsWith('ERR_SSL_')) {
    message = `the TLS handshake with ${named(proxy)} failed (${code}); check that the proxy speaks TLS on that port, or write ${proxy.variable} with http:// if it does not`;
  } else return undefined;
  return new ProxyTunnelError(message, proxy.label, false, { cause });
}

/** The error for a call whose deadline passed before its tunnel was open. */
export function tunnelTimeout(
  proxy: ProxyEndpoint,
  target: string,
  state: TunnelState,
  cause: unknown,
): ProxyTunnelError {
  const what =
    state.phase === 'connecting'
      ? `did not accept a connection in time; check that ${proxy.variable} names a proxy that is up`
      : `did not answer the request for a tunnel to '${target}' in time; check that the proxy is up and can reach that host`;
  return new ProxyTunnelError(`${named(proxy)} ${what}`, proxy.label, true, { cause });
}
