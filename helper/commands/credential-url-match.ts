/**
 * Whether a `credential.<url>.*` config entry applies to a host, or to one
 * request for it, by git's own rules (urlmatch.c and credential.c): the URL
 * is normalized (scheme and host lowercased, default port dropped, `*`
 * matching one host label, dot segments resolved) and matched by scheme,
 * host, port, user name, and path as a prefix ending at a slash; a URL git
 * cannot normalize (`github.com`, no scheme) is read as a partial URL whose
 * parts given must equal the request's, its path whole. Every entry that
 * matches applies, in config order (credential.c's `select_all`), not only
 * the best. User names and paths are compared decoded, where git compares
 * normalized escapes: a key that spells a reserved character (`:`, `@`)
 * literally in its path, which git never matches, is taken to match.
 */

/** `all`: every request for the host; `some`: only those naming a user or path in it. */
export type CredentialUrlMatch = 'all' | 'some' | 'none';

/** The host configure points git at: scheme, and host as written (lowercase, port if any). */
export interface CredentialContext {
  protocol: string;
  host: string;
}

/** One request for the host, with the user name and repository path git sends, if any. */
export interface CredentialRequest extends CredentialContext {
  username?: string | undefined;
  /** As git sends it: no slash at either end. */
  path?: string | undefined;
}

/** What a key's URL asks of a request. */
interface UrlPattern {
  /** Whether the request's scheme, host and port are the key's. */
  hostMatches: (context: CredentialContext) => boolean;
  username: string | undefined;
  /**
   * A full URL's path matches the request's as a prefix ending at a slash
   * (`/acme`, `/` for all); a partial URL's must equal it (`acme`).
   */
  path: { prefix: string } | { exact: string } | undefined;
}

/** A key no request ever matches (a query or fragment, a user name git never sends). */
const NEVER: UrlPattern = { hostMatches: () => false, username: undefined, path: undefined };

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };

/** A port as git compares it: no leading zeros, the scheme's default as none. */
function normalPort(scheme: string, port: string): string | undefined {
  const digits = port.replace(/^0+(?=.)/, '');
  if (digits === '' || digits === DEFAULT_PORTS[scheme]) return '';
  if (!/^[0-9]{1,5}$/.test(digits)) return undefined;
  const value = Number(digits);
  return value >= 1 && value <= 65535 ? digits : undefined;
}

/** Dot segments resolved as url_normalize does; undefined for a `..` above the root. */
function normalPath(path: string): string | undefined {
  const kept: string[] = [];
  // git unescapes `%2e` before it looks for dot segments.
  for (const segment of path.replace(/^\//, '').split('/')) {
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '.') continue;
    if (plain === '..') {
      if (kept.length === 0) return undefined;
      kept.pop();
    } else kept.push(segment);
  }
  return `/${kept.join('/')}`;
}

/** Host names compared label by label, `*` matching any one label; one trailing dot ignored. */
function hostsMatch(host: string, pattern: string): boolean {
  const labels = host.replace(/\.$/, '').split('.');
  const wanted = pattern.replace(/\.$/, '').split('.');
  return (
    labels.length === wanted.length &&
    wanted.every((label, i) => label === '*' || label === labels[i])
  );
}

function urlDecode(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/** Scheme, host name and port of a host git can normalize. */
function schemeHostPort(scheme: string, hostPort: string) {
  // The last ':' that is not inside an IPv6 literal's brackets.
  let colon = hostPort.length - 1;
  while (colon > 0 && hostPort[colon] !== ':' && hostPort[colon] !== ']') colon--;
  const hasPort = hostPort[colon] === ':';
  const name = hasPort ? hostPort.slice(0, colon) : hostPort;
  if (!/^[A-Za-z0-9.\-_[:\]*]*$/.test(name)) return undefined;
  const port = hasPort ? normalPort(scheme, hostPort.slice(colon + 1)) : '';
  return port === undefined ? undefined : { scheme, host: name.toLowerCase(), port };
}

/** urlmatch.c's url_normalize (with host globs), as far as matching needs; undefined when git cannot normalize it. */
function fullUrl(url: string): UrlPattern | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!scheme) return undefined;
  let rest = url.slice(scheme[0].length);
  if (/%(?![0-9A-Fa-f]{2})/.test(rest)) return undefined;

  let hostEnd = rest.search(/[/?#]/);
  if (hostEnd === -1) hostEnd = rest.length;
  const at = rest.indexOf('@');
  const userinfo = at !== -1 && at < hostEnd ? rest.slice(0, at) : undefined;
  if (userinfo !== undefined) {
    rest = rest.slice(at + 1);
    hostEnd -= at + 1;
  }
  if (hostEnd === 0 || rest.startsWith(':')) return undefined;
  const pattern = schemeHostPort(scheme[1]!.toLowerCase(), rest.slice(0, hostEnd));
  if (pattern === undefined) return undefined;
  const path = rest.slice(hostEnd);
  const end = path.search(/[?#]/);
  const normal = normalPath(end === -1 ? path : path.slice(0, end));
  if (normal === undefined) return undefined;

  const username = userinfo === undefined ? undefined : urlDecode(userinfo.split(':')[0]!);
  // Git writes a request's path and user name escaped, with no `?` or `#`
  // left to match, and a user name only when it is not empty.
  if (end !== -1 || username === '') return NEVER;
  return {
    hostMatches: (context) => {
      const target = schemeHostPort(context.protocol, context.host);
      return (
        target !== undefined &&
        target.scheme === pattern.scheme &&
        hostsMatch(target.host, pattern.host) &&
        target.port === pattern.port
      );
    },
    username,
    path: { prefix: urlDecode(normal) },
  };
}

/**
 * credential.c's partial URL (`github.com`, `https://`, `/path`,
 * `//bob@github.com`, a path to git): each part it gives must equal the
 * request's exactly, case included.
 */
function partialUrl(url: string): UrlPattern {
  if (/\n/.test(url)) return NEVER;
  const schemeEnd = url.indexOf('://');
  const start = schemeEnd === -1 ? 0 : schemeEnd + 3;
  let hostEnd = url.slice(start).search(/[/?#]/);
  hostEnd = hostEnd === -1 ? url.length : start + hostEnd;
  const at = url.indexOf('@', start);
  const userinfo = at !== -1 && at < hostEnd ? url.slice(start, at) : undefined;
  const hostStart = userinfo === undefined ? start : at + 1;

  const protocol = schemeEnd > 0 ? url.slice(0, schemeEnd) : undefined;
  const host = hostEnd > hostStart ? urlDecode(url.slice(hostStart, hostEnd)) : undefined;
  const path = urlDecode(url.slice(hostEnd).replace(/^\/+/, '')).replace(/(?<=.)\/+$/, '');
  return {
    hostMatches: (context) =>
      (protocol === undefined || protocol === context.protocol) &&
      (host === undefined || host === context.host),
    username: userinfo === undefined ? undefined : urlDecode(userinfo.split(':')[0]!),
    path: path === '' ? undefined : { exact: path },
  };
}

function patternOf(url: string): UrlPattern {
  return fullUrl(url) ?? partialUrl(url);
}

/** url_match_prefix: the key's path, then the end or a slash. */
function pathMatches(pattern: UrlPattern['path'], path: string | undefined): boolean {
  if (pattern === undefined) return true;
  if ('exact' in pattern) return pattern.exact === path;
  const prefix = pattern.prefix === '/' ? '' : pattern.prefix.replace(/\/$/, '');
  const full = `/${path ?? ''}`;
  return full.startsWith(prefix) && (full.length === prefix.length || full[prefix.length] === '/');
}

/** Whether git applies a `credential.<url>.*` entry to `request`. */
export function appliesToRequest(url: string, request: CredentialRequest): boolean {
  const pattern = patternOf(url);
  return (
    pattern.hostMatches(request) &&
    (pattern.username === undefined || pattern.username === request.username) &&
    pathMatches(pattern.path, request.path)
  );
}

/**
 * The request for the host that a key names: its user name and its path,
 * if any. The key applies to it whenever it applies to any request for
 * the host at all.
 */
export function requestNamedBy(url: string, context: CredentialContext): CredentialRequest {
  const { username, path } = patternOf(url);
  const named = path === undefined ? '' : 'exact' in path ? path.exact : path.prefix;
  const trimmed = named.replace(/^\/+|\/+$/g, '');
  return { ...context, username, path: trimmed === '' ? undefined : trimmed };
}

/** How the URL part of a `credential.<url>.*` key applies to `context`. */
export function matchCredentialUrl(url: string, context: CredentialContext): CredentialUrlMatch {
  const pattern = patternOf(url);
  if (!appliesToRequest(url, requestNamedBy(url, context))) return 'none';
  const everyPath =
    pattern.path === undefined || ('prefix' in pattern.path && pattern.path.prefix === '/');
  return pattern.username === undefined && everyPath ? 'all' : 'some';
}
