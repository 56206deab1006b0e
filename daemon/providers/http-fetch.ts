/**
 * The HTTP client every GitHub call goes through: the part of fetch() that
 * @octokit/request and the retry policy use, on node:http and node:https.
 *
 * Node's global fetch (undici) cost the daemon about 8 MB of RSS for good
 * from its first call (its code, and its HTTP parser compiled from
 * WebAssembly), and about 25 MB more at the peak of a burst of mints
 * (measured against the fixture with 200 and 10,000 mints). A GitHub REST
 * call needs none of what it adds: a small JSON body each way, no streams,
 * no compression.
 *
 * Proxies: calls go through the HTTP CONNECT tunnels of proxy-agents.ts
 * when proxy-env.ts finds a proxy for the origin in the environment.
 */
import type { IncomingMessage, OutgoingHttpHeaders, RequestOptions } from 'node:http';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DIRECT, type ProxyEndpoint, type ProxyRoute } from './proxy-env.js';
import { Answer, Headers, type FetchResponse } from './fetch-answer.js';
import { AGENT_OPTIONS, HttpsTunnelAgent, HttpTunnelAgent } from './proxy-agents.js';
import { TUNNEL_STATE, tunnelTarget, tunnelTimeout, type TunnelState } from './proxy-tunnel.js';

export type { FetchHeaders, FetchResponse } from './fetch-answer.js';

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | null;
  signal?: AbortSignal | null;
  /** 'follow' (the default) follows redirects within the same origin. */
  redirect?: string;
}

/** Largest answer read; GitHub's answers to these calls are a few KB. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export type HttpFetch = (url: string | URL, init?: FetchInit) => Promise<FetchResponse>;

/** Where a fetch sends its calls: the agents that pool its connections, and its proxy. */
interface Transport {
  agents: { 'http:': HttpAgent; 'https:': HttpsAgent };
  proxy: ProxyEndpoint | undefined;
}

/**
 * fetch(), as far as GitHub's REST calls need it, sending every call as
 * `route` says: straight to the origin, or through its proxy's tunnels.
 * Connections are kept alive and reused per origin (5 s idle), as Node's
 * global agents did.
 */
export function createHttpFetch(route: ProxyRoute = DIRECT): HttpFetch {
  const proxy = route.proxy;
  const transport: Transport = {
    agents:
      proxy === undefined
        ? { 'http:': new HttpAgent(AGENT_OPTIONS), 'https:': new HttpsAgent(AGENT_OPTIONS) }
        : { 'http:': new HttpTunnelAgent(proxy), 'https:': new HttpsTunnelAgent(proxy) },
    proxy,
  };
  return (url, init = {}) => send(new URL(url), init, 0, transport);
}

/** fetch() straight to the origin, whatever the environment says. */
export const httpFetch: HttpFetch = createHttpFetch();

function send(
  url: URL,
  init: FetchInit,
  redirects: number,
  transport: Transport,
): Promise<FetchResponse> {
  const signal = init.signal ?? undefined;
  const method = (init.method ?? 'GET').toUpperCase();
  return new Promise<FetchResponse>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const start =
      url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
    if (start === undefined) {
      reject(new TypeError(`cannot fetch ${url.protocol} URLs; use http or https`));
      return;
    }
    const headers: OutgoingHttpHeaders = { ...init.headers };
    const { proxy } = transport;
    // Read by the tunnel agent: the deadline, and how far the tunnel got.
    const tunnel: TunnelState = { signal, phase: 'connecting' };
    const options: RequestOptions & { [TUNNEL_STATE]?: TunnelState } = {
      method,
      headers,
      agent: transport.agents[url.protocol as 'http:' | 'https:'],
      ...(proxy === undefined ? {} : { [TUNNEL_STATE]: tunnel }),
    };
    const request = start(url, options);
    // Settles once, whatever happens to the connection. An abort always
    // ends the call, with the signal's reason as fetch does (a timeout is a
    // TimeoutError): Node emits nothing at all for some answers (a 101
    // nobody takes up), and a call must not outlive its deadline. One that
    // came while the proxy had not yet opened the tunnel names the proxy.
    let settled = false;
    const aborted = (): unknown =>
      proxy !== undefined && tunnel.phase !== 'open'
        ? tunnelTimeout(proxy, tunnelTarget(url), tunnel, signal!.reason)
        : signal!.reason;
    const onAbort = (): void => settle(undefined);
    const settle = (answer: FetchResponse | undefined, error?: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (answer === undefined) {
        request.destroy();
        reject(signal?.aborted ? aborted() : error);
      } else resolve(answer);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // A kept-alive tunnel is open already: the agent is not asked for it.
    request.on('socket', () => (tunnel.phase = 'open'));
    request.on('error', (error) => settle(undefined, error));
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      settle(undefined, new Error(`the server switched protocols (HTTP ${response.statusCode})`));
    });
    let responded = false;
    request.on('close', () => {
      // Once an answer came, reading its body settles the call.
      if (!responded) settle(undefined, new Error('the connection closed before an answer came'));
    });
    request.on('response', (response) => {
      responded = true;
      readBody(response).then(
        (bytes) => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status > 599) {
            settle(undefined, new Error(`the server answered with status ${status}`));
            return;
          }
          if (REDIRECTS.has(status)) {
            const next = redirectTarget(url, response.headers.location, init, redirects);
            if (next instanceof Error) {
              settle(undefined, next);
              return;
            }
            // 303, and 301/302 after a POST, become a GET without a body, as in fetch.
            const asGet =
              status === 303 || ((status === 301 || status === 302) && method === 'POST');
            const follow: FetchInit = asGet ? { ...init, method: 'GET', body: null } : init;
            send(next, follow, redirects + 1, transport).then(
              (answer) => settle(answer),
              (error: unknown) => settle(undefined, error),
            );
            return;
          }
          const answer = new Answer(
            status,
            response.statusMessage ?? '',
            url.href,
            new Headers(response.headers),
            bytes,
          );
          settle(answer);
        },
        (error: unknown) => settle(undefined, error),
      );
    });
    request.end(init.body ?? undefined);
  });
}

const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Where a redirect leads, or why it is not followed. Only within the same
 * origin: every request carries the App's credentials. A redirect that is
 * not followed fails the call, as in fetch, rather than being taken for an
 * answer (a 301 to a DELETE looked like a successful revocation).
 */
function redirectTarget(
  url: URL,
  location: string | undefined,
  init: FetchInit,
  redirects: number,
): URL | Error {
  if (location === undefined) return new Error('the server redirected without a Location');
  if ((init.redirect ?? 'follow') !== 'follow') return new Error('the server redirected');
  if (redirects >= MAX_REDIRECTS) {
    return new Error(`the server redirected more than ${MAX_REDIRECTS} times`);
  }
  let next: URL;
  try {
    next = new URL(location, url);
  } catch {
    return new Error('the server redirected to a URL that does not parse');
  }
  if (next.origin !== url.origin) {
    // The origin only: a Location may carry user information.
    return new Error(
      `the server redirected to another origin (${next.origin}); the App's credentials are not sent there`,
    );
  }
  if (next.username !== '' || next.password !== '') {
    return new Error('the server redirected to a URL with user information');
  }
  return next;
}

function readBody(response: IncomingMessage): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        response.destroy();
        reject(new Error(`the answer was larger than ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    // A connection cut mid-body ends the response with an error, or with
    // no 'end' at all.
    const cut = (cause?: unknown): void =>
      reject(new Error('the connection closed before the answer was complete', { cause }));
    response.on('end', () => (response.complete ? resolve(Buffer.concat(chunks)) : cut()));
    response.on('error', cut);
    response.on('close', () => {
      if (!response.complete) cut();
    });
  });
}
