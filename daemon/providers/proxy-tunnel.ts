/**
 * HTTP CONNECT through a proxy: the request, and reading the proxy's
 * answer. The agents that pool the tunnels are in proxy-agents.ts, what
 * each refusal or failure means in proxy-failures.ts.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { printable } from '../../shared/printable.js';
import { MAX_ANSWER_HEAD_BYTES, readConnectAnswer } from './proxy-answer.js';
import type { ProxyEndpoint } from './proxy-env.js';
import {
  named,
  ProxyTunnelError,
  refusal,
  tlsFailure,
  tunnelTimeout,
  type TunnelState,
} from './proxy-failures.js';

export { ProxyTunnelError, tunnelTimeout, type TunnelState } from './proxy-failures.js';

/** Where the agent finds a request's TunnelState in its options. */
export const TUNNEL_STATE = Symbol('tunnelState');

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
    if (state.phase === 'connecting') {
      finish(
        tlsFailure(proxy, error.code, error) ??
          new ProxyTunnelError(
            `cannot connect to ${named(proxy)}: ${why}; check that the proxy is up and that ${proxy.variable} names it`,
            proxy.label,
            true,
            { cause: error },
          ),
      );
      return;
    }
    finish(
      new ProxyTunnelError(
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
  const notHttp = (what: string): ProxyTunnelError =>
    new ProxyTunnelError(
      `${named(proxy)} ${what}; check that ${proxy.variable} names an HTTP proxy`,
      proxy.label,
      true,
    );
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const answer = readConnectAnswer(head);
    if (answer.kind === 'incomplete') return;
    if (answer.kind === 'too-large') {
      finish(
        notHttp(
          `answered the request for a tunnel to '${target}' with headers larger than ${MAX_ANSWER_HEAD_BYTES / 1024} KiB`,
        ),
      );
      return;
    }
    if (answer.kind === 'not-http') {
      finish(notHttp('answered the request for a tunnel with something that is not HTTP'));
      return;
    }
    if (answer.status < 200 || answer.status > 299) {
      finish(refusal(proxy, target, { ...answer, reason: printable(answer.reason, 60) }));
      return;
    }
    // The client speaks first in both http and TLS: bytes before that are
    // not the origin's answer to anything.
    if (answer.extraBytes > 0) {
      finish(notHttp(`sent data into the tunnel to '${target}' before it was used`));
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
