/**
 * Whether a `credential.<url>.*` config entry applies to a host, by git's
 * own rules (urlmatch.c and credential.c): the URL is normalized (scheme
 * and host lowercased, default port dropped, `*` matching one host label)
 * and matched by scheme, host, port, then user name and path prefix; a URL
 * git cannot normalize (`github.com`, no scheme) is read as a partial URL
 * whose parts given must equal the request's. Every entry that matches
 * applies, in config order (credential.c's `select_all`), not only the best.
 */

/** `all`: every request for the host; `some`: only those naming a user or path in it. */
export type CredentialUrlMatch = 'all' | 'some' | 'none';

/** The host configure points git at: scheme, and host as written (lowercase, port if any). */
export interface CredentialContext {
  protocol: string;
  host: string;
}

interface NormalizedUrl {
  scheme: string;
  hasUser: boolean;
  host: string;
  port: string;
  /** True when the path is the root (or empty), with no query or fragment. */
  rootPath: boolean;
}

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };

/** A port as git compares it: no leading zeros, the scheme's default as none. */
function normalPort(scheme: string, port: string): string | undefined {
  const digits = port.replace(/^0+(?=.)/, '');
  if (digits === '' || digits === DEFAULT_PORTS[scheme]) return '';
  if (!/^[0-9]{1,5}$/.test(digits)) return undefined;
  const value = Number(digits);
  return value >= 1 && value <= 65535 ? digits : undefined;
}

/** Dot segments resolved as git does; undefined for a `..` above the root. */
function isRootPath(path: string): boolean | undefined {
  const end = path.search(/[?#]/);
  if (end !== -1) return false;
  const kept: string[] = [];
  // git unescapes `%2e` before it looks for dot segments.
  for (const segment of path.split('/').slice(1)) {
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '.') continue;
    if (plain === '..') {
      if (kept.length === 0) return undefined;
      kept.pop();
    } else kept.push(segment);
  }
  return kept.every((segment) => segment === '') && kept.length <= 1;
}

/** urlmatch.c's url_normalize (with host globs), as far as matching needs; undefined when git cannot normalize it. */
function normalize(url: string): NormalizedUrl | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!scheme) return undefined;
  let rest = url.slice(scheme[0].length);
  if (/%(?![0-9A-Fa-f]{2})/.test(rest)) return undefined;

  let hostEnd = rest.search(/[/?#]/);
  if (hostEnd === -1) hostEnd = rest.length;
  const at = rest.indexOf('@');
  const hasUser = at !== -1 && at < hostEnd;
  if (hasUser) {
    rest = rest.slice(at + 1);
    hostEnd -= at + 1;
  }
  if (hostEnd === 0 || rest.startsWith(':')) return undefined;

  const hostPort = rest.slice(0, hostEnd);
  // The last ':' that is not inside an IPv6 literal's brackets.
  let colon = hostPort.length - 1;
  while (colon > 0 && hostPort[colon] !== ':' && hostPort[colon] !== ']') colon--;
  const hasPort = hostPort[colon] === ':';
  const name = hasPort ? hostPort.slice(0, colon) : hostPort;
  if (!/^[A-Za-z0-9.\-_[:\]*]*$/.test(name)) return undefined;
  const schemeName = scheme[1]!.toLowerCase();
  const port = hasPort ? normalPort(schemeName, hostPort.slice(colon + 1)) : '';
  if (port === undefined) return undefined;
  const rootPath = isRootPath(rest.slice(hostEnd) === '' ? '/' : rest.slice(hostEnd));
  if (rootPath === undefined) return undefined;

  return { scheme: schemeName, hasUser, host: name.toLowerCase(), port, rootPath };
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

/**
 * credential.c's partial URL (`github.com`, `https://`, `/path`): each part
 * it gives must equal the request's exactly, case included.
 */
function matchPartial(url: string, context: CredentialContext): CredentialUrlMatch {
  const schemeEnd = url.indexOf('://');
  const start = schemeEnd === -1 ? 0 : schemeEnd + 3;
  let hostEnd = url.slice(start).search(/[/?#]/);
  hostEnd = hostEnd === -1 ? url.length : start + hostEnd;
  const at = url.indexOf('@', start);
  const hasUser = at !== -1 && at < hostEnd;
  const hostStart = hasUser ? at + 1 : start;

  const protocol = schemeEnd > 0 ? url.slice(0, schemeEnd) : undefined;
  const host = hostEnd > hostStart ? urlDecode(url.slice(hostStart, hostEnd)) : undefined;
  const path = url.slice(hostEnd).replace(/^\/+/, '');
  if (/\n/.test(url)) return 'none';
  if (protocol !== undefined && protocol !== context.protocol) return 'none';
  if (host !== undefined && host !== context.host) return 'none';
  return hasUser || path !== '' ? 'some' : 'all';
}

/** How the URL part of a `credential.<url>.*` key applies to `context`. */
export function matchCredentialUrl(url: string, context: CredentialContext): CredentialUrlMatch {
  const pattern = normalize(url);
  if (pattern === undefined) return matchPartial(url, context);
  const target = normalize(`${context.protocol}://${context.host}/`);
  if (target === undefined) return 'none';

  if (pattern.scheme !== target.scheme) return 'none';
  if (!hostsMatch(target.host, pattern.host) || pattern.port !== target.port) return 'none';
  return pattern.hasUser || !pattern.rootPath ? 'some' : 'all';
}
