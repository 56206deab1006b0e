/**
 * node:http agents that reach origins through a proxy's CONNECT tunnels,
 * keeping tunnels alive and reusing them the way Node's global agents
 * reuse direct connections (keep-alive, 5 s idle), one pool per origin.
 *
 * Both https and http origins go through CONNECT: one path to get right
 * and test, and the proxy relays bytes it cannot rewrite or cache. (curl
 * sends http requests to the proxy in absolute form instead; the broker
 * calls http only on loopback, where that buys nothing.) For https, TLS to
 * the origin runs inside the tunnel and its certificate is checked against
 * the origin's name, as without a proxy.
 */
import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { ProxyEndpoint } from './proxy-env.js';
import { openTunnel, TUNNEL_STATE, type TunnelState } from './proxy-tunnel.js';

/**
 * The keep-alive settings of Node 20's global agents, which every call used
 * before proxies. `proxyEnv: null`: where Node itself can read proxy
 * variables (NODE_USE_ENV_PROXY, Node 24), these agents still do only what
 * proxy-env.ts decided, which is what status reports.
 */
export const AGENT_OPTIONS = {
  keepAlive: true,
  scheduling: 'lifo',
  timeout: 5000,
  proxyEnv: null,
} as const;

type Callback = (error: Error | null, socket: Duplex) => void;
type TunnelOptions = ClientRequestArgs & { [TUNNEL_STATE]?: TunnelState; servername?: string };

function stateOf(options: TunnelOptions): TunnelState {
  return options[TUNNEL_STATE] ?? { phase: 'connecting' };
}

/** Plain http to the origin through the tunnel. */
export class HttpTunnelAgent extends HttpAgent {
  constructor(readonly proxy: ProxyEndpoint) {
    super(AGENT_OPTIONS);
  }

  override createConnection(options: TunnelOptions, callback: Callback): undefined {
    const port = Number(options.port ?? 80);
    openTunnel(this.proxy, String(options.host), port, stateOf(options), (error, socket) =>
      callback(error, socket!),
    );
    return undefined;
  }
}

/** TLS to the origin inside the tunnel, verified against the origin's name. */
export class HttpsTunnelAgent extends HttpsAgent {
  constructor(readonly proxy: ProxyEndpoint) {
    super(AGENT_OPTIONS);
  }

  override createConnection(options: TunnelOptions, callback: Callback): undefined {
    const host = String(options.host);
    const port = Number(options.port ?? 443);
    openTunnel(this.proxy, host, port, stateOf(options), (error, socket) => {
      if (error !== null) {
        callback(error, socket!);
        return;
      }
      // The request's TLS options (CAs, servername), not its path: a `path`
      // means a Unix socket to tls.connect.
      const tlsOptions: Record<string, unknown> = { ...options };
      delete tlsOptions.path;
      delete tlsOptions.socketPath;
      const secure = tlsConnect({
        ...tlsOptions,
        host,
        servername: options.servername ?? (isIP(host) === 0 ? host : ''),
        socket: socket!,
      });
      callback(null, secure);
    });
    return undefined;
  }
}
