/**
 * HTTP CONNECT through a proxy: the request, the proxy's answer, and what
 * each refusal or failure means for the user. The agents that pool the
 * tunnels are in proxy-agents.ts.
 *
 * A refusal comes back as a ProxyTunnelError naming the proxy, never as an
 * answer from the origin: the proxy's 407 or 502 is not GitHub's.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { printable } from '../../shared/printable.js';
import type { ProxyEndpoint } from './proxy-env.js';

/** Largest CONNECT answer head read; a proxy's is a few hundred bytes. */
const MAX_HEAD_BYTES = 16 * 1024;

/**
 * Per request, handed to the agent through the request's options: the
 * call's deadline, and how far the tunnel got, for the message when the
 * deadline passes first.
 */
export const TUNNEL_STATE = Symbol('tunnelState');
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
    /** False when trying again cannot help (407, 403): the setup must change. */
    readonly retryable: boolean,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyTunnelError';
    this.status = options?.status;
  }

  /** The proxy's HTTP status, when it answered the CONNECT. */
  readonly status: number | undefined;
}

function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** `host:port` of a URL's origin, its scheme's port filled in: what a CONNECT names. */
export function tunnelTarget(url: URL): string {
  return hostPort(
    url.hostname.replace(/^\[(.*)\]$/, '$1'),
    Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
  );
}

function named(proxy: ProxyEndpoint): string {
  return `proxy '${proxy.label}' (from ${proxy.variable})`;
}

/** What a CONNECT answer other than 2xx means for the user. */
function refusal(
  proxy: ProxyEndpoint,
  target: string,
  status: number,
  reason: string,
): ProxyTunnelError {
  const said = `HTTP ${status}${reason === '' ? '' : ` ${reason}`}`;
  const options = { status };
  if (status === 407) {
    const fix = proxy.hasCredentials
      ? `rejected the user name and password in ${proxy.variable} (${said}); correct them (percent-encode special characters)`
      : `asks for a user name and password (${said}); put them in ${proxy.variable}: http://USER:PASSWORD@${proxy.label}`;
    return new ProxyTunnelError(`${named(proxy)} ${fix}`, proxy.label, false, options);
  }
  if (status >= 500) {
    return new ProxyTunnelError(
      `${named(proxy)} could not open a tunnel to '${target}' (${said}); check that the proxy can reach that host`,
      proxy.label,
      true,
      options,
    );
  }
  return new ProxyTunnelError(
    `${named(proxy)} refused a tunnel to '${target}' (${said}); ask its administrators to allow CONNECT to that host and port, or list the host in NO_PROXY if it is reachable without the proxy`,
    proxy.label,
    false,
    options,
  );
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

/**
 * Opens a tunnel to `host:port` and hands over the socket (raw: TLS, if
 * any, is the caller's). Settles once; an abort destroys the proxy socket.
 */
export function openTunnel(
  proxy: ProxyEndpoint,
  host: string,
  port: number,
  state: TunnelState,
  done: (error: Error | null, socket?: Socket) => void,
): void {
  const target = hostPort(host, port);
  const socket: Socket =
    proxy.protocol === 'https:'
      ? tlsConnect({
          host: proxy.host,
          port: proxy.port,
          ...(isIP(proxy.host) === 0 ? { servername: proxy.host } : {}),
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect({ host: proxy.host, port: proxy.port });
  let head = Buffer.alloc(0);
  let settled = false;
  const finish = (error: Error | null): void => {
    if (settled) return;
    settled = true;
    socket.off('data', onData);
    socket.off('close', onClose);
    state.signal?.removeEventListener('abort', onAbort);
    if (error !== null) {
      socket.destroy();
      done(error);
      return;
    }
    socket.off('error', onError);
    state.phase = 'open';
    done(null, socket);
  };
  const onAbort = (): void => finish(tunnelTimeout(proxy, target, state, state.signal?.reason));
  const onError = (error: NodeJS.ErrnoException): void => {
    const why = error.code ?? printable(error.message, 120);
    finish(
      state.phase === 'connecting'
        ? new ProxyTunnelError(
            `cannot connect to ${named(proxy)}: ${why}; check that the proxy is up and that ${proxy.variable} names it`,
            proxy.label,
            true,
            { cause: error },
          )
        : new ProxyTunnelError(
            `the connection to ${named(proxy)} failed while asking for a tunnel to '${target}': ${why}`,
            proxy.label,
            true,
            { cause: error },
          ),
    );
  };
  const onClose = (): void =>
    finish(
      new ProxyTunnelError(
        `${named(proxy)} closed the connection before answering the request for a tunnel to '${target}'; check that ${proxy.variable} names an HTTP proxy`,
        proxy.label,
        true,
      ),
    );
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (head.length > MAX_HEAD_BYTES) onClose();
      return;
    }
    const statusLine = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(
      head.subarray(0, head.indexOf('\r\n')).toString('latin1'),
    );
    if (statusLine === null) {
      finish(
        new ProxyTunnelError(
          `${named(proxy)} answered the request for a tunnel with something that is not HTTP; check that ${proxy.variable} names an HTTP proxy`,
          proxy.label,
          true,
        ),
      );
      return;
    }
    const status = Number(statusLine[1]);
    if (status < 200 || status > 299) {
      finish(refusal(proxy, target, status, printable(statusLine[2] ?? '', 60)));
      return;
    }
    // The client speaks first in both http and TLS: bytes before that are
    // not the origin's answer to anything.
    if (head.length > end + 4) {
      finish(
        new ProxyTunnelError(
          `${named(proxy)} sent data into the tunnel to '${target}' before it was used; check that ${proxy.variable} names an HTTP proxy`,
          proxy.label,
          true,
        ),
      );
      return;
    }
    finish(null);
  };

  if (state.signal?.aborted) {
    onAbort();
    return;
  }
  state.signal?.addEventListener('abort', onAbort, { once: true });
  socket.on('error', onError);
  socket.on('close', onClose);
  socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    state.phase = 'waiting';
    const authorization = proxy.proxyAuthorization();
    socket.write(
      `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nUser-Agent: git-credential-broker\r\n` +
        (authorization === undefined ? '' : `Proxy-Authorization: ${authorization}\r\n`) +
        '\r\n',
    );
    socket.on('data', onData);
  });
}
