/**
 * Which proxy, if any, the daemon's calls to one API origin go through,
 * read from its environment the way curl (and so git) reads it:
 *
 * - https URLs: `https_proxy`, else `HTTPS_PROXY`;
 * - http URLs: `http_proxy` only. Uppercase `HTTP_PROXY` is not read, as in
 *   curl: CGI servers put a request's `Proxy:` header there ("httpoxy");
 * - either: `all_proxy`, else `ALL_PROXY`, when the above are unset;
 * - `no_proxy`, else `NO_PROXY`, excludes hosts (see no-proxy.ts). Loopback
 *   is not excluded by default, as in curl: list it there.
 *
 * An empty variable counts as unset. A proxy URL is `http://HOST:PORT` or
 * `https://HOST:PORT`, with `USER:PASSWORD@` before the host for a proxy
 * that asks (percent-encoded); without a scheme it is http, without a port
 * 1080 (http) or 443 (https), curl's defaults.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../../shared/errors.js';
import type { StatusApi } from '../../shared/protocol.js';
import { NoProxyList } from './no-proxy.js';

/** A proxy to tunnel through. Its credentials never leave this object but as a header. */
export class ProxyEndpoint {
  readonly #authorization: string | undefined;

  constructor(
    /** The variable it was read from, for messages: `https_proxy`. */
    readonly variable: string,
    /** How the daemon talks to the proxy itself. */
    readonly protocol: 'http:' | 'https:',
    /** Host name or IP literal, without brackets. */
    readonly host: string,
    readonly port: number,
    authorization: string | undefined,
  ) {
    this.#authorization = authorization;
  }

  /** `host:port` (`[::1]:3128`): what messages, logs and status show of it. */
  get label(): string {
    return `${isIP(this.host) === 6 ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get hasCredentials(): boolean {
    return this.#authorization !== undefined;
  }

  /** The `Proxy-Authorization` value, when the URL held a user name or password. */
  proxyAuthorization(): string | undefined {
    return this.#authorization;
  }

  /** What JSON (a log line, a config comparison) shows of it: never the credentials. */
  toJSON(): Record<string, unknown> {
    const { variable, protocol, label, hasCredentials } = this;
    return { variable, protocol, label, hasCredentials };
  }
}

/** How calls to one origin travel. */
export interface ProxyRoute {
  /** The proxy to tunnel through; absent: straight to the origin. */
  proxy?: ProxyEndpoint;
  /** Set when a proxy variable applied but NO_PROXY excluded the origin: `no_proxy` or `NO_PROXY`. */
  excludedBy?: string;
  /** That proxy variable, excluded. */
  excludedVariable?: string;
  /** Set when `HTTP_PROXY` is set but not read for this http origin (see above). */
  ignored?: string;
}

export const DIRECT: ProxyRoute = Object.freeze({});

type Env = Record<string, string | undefined>;

function first(env: Env, names: readonly string[]): string | undefined {
  return names.find((name) => (env[name] ?? '').trim() !== '');
}

/** The route to `origin` (an API base URL) under `env`; throws ConfigError on a bad proxy URL. */
export function resolveProxyRoute(origin: URL, env: Env): ProxyRoute {
  const names =
    origin.protocol === 'https:'
      ? ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']
      : ['http_proxy', 'all_proxy', 'ALL_PROXY'];
  const variable = first(env, names);
  const ignored =
    origin.protocol === 'http:' && variable === undefined && first(env, ['HTTP_PROXY'])
      ? { ignored: 'HTTP_PROXY' }
      : {};
  if (variable === undefined) return { ...ignored };

  const noProxyVariable = first(env, ['no_proxy', 'NO_PROXY']);
  const port = Number(origin.port || (origin.protocol === 'https:' ? 443 : 80));
  if (
    noProxyVariable !== undefined &&
    new NoProxyList(env[noProxyVariable]!).matches(origin.hostname, port)
  ) {
    return { excludedBy: noProxyVariable, excludedVariable: variable };
  }
  return { proxy: parseProxyUrl(variable, env[variable]!.trim()) };
}

/**
 * Reads one proxy variable's value: `scheme://[user[:password]@]host[:port][/]`
 * and nothing more. Errors quote at most its scheme, host and port, and
 * those only once the value is known to be shaped like that: a password
 * with an unencoded `/`, `?`, `#` or `\\` ends the authority early
 * (`http://ci:2024/Winter@proxy:3128` reads as host `ci`, port 2024).
 */
export function parseProxyUrl(variable: string, value: string): ProxyEndpoint {
  const example = 'http://HOST:PORT, or http://USER:PASSWORD@HOST:PORT for a proxy that asks';
  const encode = `percent-encode special characters (# ? / \\ @ : % and space) in the user name and password`;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    throw new ConfigError(
      `environment variable ${variable} names a ${scheme} proxy, which the broker does not support; give it an http:// (or https://) proxy, or add the API host to NO_PROXY`,
    );
  }
  // URL drops tabs and newlines anywhere and reads `\` as `/`: split the
  // value the way it does, and refuse what could make the two disagree.
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new ConfigError(
      `environment variable ${variable} holds a control character (a tab or line break); write it as ${example}`,
    );
  }
  const text = scheme === undefined ? `http://${value}` : value;
  const afterScheme = text.slice(text.indexOf('//') + 2);
  const authority = afterScheme.split(/[/\\?#]/, 1)[0]!;
  const rest = afterScheme.slice(authority.length);
  if (rest !== '' && rest !== '/') {
    throw new ConfigError(
      `environment variable ${variable} has a path, query or fragment after the proxy's host, or a user name or password with an unencoded special character; write it as ${example}, and ${encode}`,
    );
  }

  // URL drops a port that is its scheme's default (:80, :443), which is not
  // curl's default for proxies (1080): read it from the text.
  const hostAndPort = authority.slice(authority.lastIndexOf('@') + 1);
  const written = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostAndPort)?.[1];
  if (written !== undefined && !/^\d+$/.test(written)) {
    throw new ConfigError(
      `environment variable ${variable} has a port that is empty or not a number; write it as ${example}, and ${encode}`,
    );
  }
  if (written !== undefined && (Number(written) < 1 || Number(written) > 65535)) {
    throw new ConfigError(
      `environment variable ${variable} has port 0 or a port above 65535; give the proxy's port, from 1 to 65535`,
    );
  }

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not quoted, and not chained: Node's error holds the whole input.
    throw new ConfigError(
      `environment variable ${variable} is not a proxy URL the broker can read; write it as ${example}, and ${encode}`,
    );
  }
  if (url.hostname === '') {
    throw new ConfigError(
      `environment variable ${variable} names no proxy host; write it as ${example}`,
    );
  }
  const where = `${url.protocol}//${url.host}`;
  const port = written !== undefined ? Number(written) : url.protocol === 'https:' ? 443 : 1080;

  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    let credentials: string;
    try {
      credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    } catch {
      throw new ConfigError(
        `environment variable ${variable} has a user name or password that is not percent-encoded correctly ('%' must be followed by two hex digits); proxy '${where}'`,
      );
    }
    authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new ProxyEndpoint(variable, url.protocol as 'http:' | 'https:', host, port, authorization);
}

/** What status and the startup log show of a route: host and port, never credentials. */
export function describeRoute(origin: URL, route: ProxyRoute): StatusApi {
  const api: StatusApi = { origin: origin.origin, proxy: route.proxy?.label ?? 'none' };
  const variable = route.proxy?.variable ?? route.excludedVariable;
  if (variable !== undefined) api.proxyVariable = variable;
  if (route.excludedBy !== undefined) api.excludedBy = route.excludedBy;
  if (route.ignored !== undefined) api.ignored = route.ignored;
  return api;
}
