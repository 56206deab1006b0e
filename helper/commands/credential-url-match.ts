/**
 * Whether a `credential.<url>.*` config entry applies to a host, or to one
 * request for it, by git's own rules (urlmatch.c and credential.c). A URL
 * git can normalize is compared with the URL git writes for the request,
 * both normalized (git-url-normalize.ts): scheme and host lowercased, the
 * default port dropped, `*` matching one host label, dot segments resolved,
 * escapes normalized; then scheme, host, port, user name, and path as a
 * prefix ending at a slash. A URL git cannot normalize (`github.com`, no
 * scheme) is read as a partial URL whose parts given, decoded, must equal
 * the request's, its path whole, and its host as the request spells it:
 * `GitHub.com` or `github.com:443` applies to the requests of remotes
 * written that way, which a normalized key for the host matches too. Every
 * entry that matches applies, in config order (credential.c's
 * `select_all`), not only the best.
 */
import { normalizeUrl, percentEncode, urlDecode } from './git-url-normalize.js';

/**
 * `all`: every request for the host as written; `some`: only those naming
 * a user or path in it, or spelling the host as it does.
 */
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
  applies: (request: CredentialRequest) => boolean;
  /** The user name and path the key names, as a request holds them. */
  username: string | undefined;
  path: string | undefined;
  /** The host exactly as a partial URL gives it, which a request must spell alike. */
  host: string | undefined;
  /** True when the key names no path, or `/`: every path it applies to. */
  everyPath: boolean;
  /** True when its path is the one path it applies to (a partial URL's), not a prefix. */
  exactPath: boolean;
}

/** A key no request ever matches. */
const NEVER: UrlPattern = {
  applies: () => false,
  username: undefined,
  path: undefined,
  host: undefined,
  everyPath: true,
  exactPath: false,
};

/** Host names compared label by label, `*` matching any one label; one trailing dot ignored. */
function hostsMatch(host: string, pattern: string): boolean {
  const labels = host.replace(/\.$/, '').split('.');
  const wanted = pattern.replace(/\.$/, '').split('.');
  return (
    labels.length === wanted.length &&
    wanted.every((label, i) => label === '*' || label === labels[i])
  );
}

/** url_match_prefix: the key's path, then the end or a slash. */
function prefixMatches(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  const wanted = prefix.replace(/\/$/, '');
  return path.startsWith(wanted) && (path.length === wanted.length || path[wanted.length] === '/');
}

/** The URL credential_format writes for a request, normalized. */
function requestUrl(request: CredentialRequest) {
  const user = request.username ? `${percentEncode(request.username, true)}@` : '';
  const path = request.path === undefined ? '' : `/${percentEncode(request.path, false)}`;
  return normalizeUrl(`${request.protocol}://${user}${request.host}${path}`, false);
}

/** A key's path or user name as a request holds it: decoded (unreadable ones stay as they are). */
function named(text: string): string {
  return urlDecode(text) ?? text;
}

function fullUrl(url: string): UrlPattern | undefined {
  const key = normalizeUrl(url, true);
  if (key === undefined) return undefined;
  const path = named(key.path).replace(/^\/+|\/+$/g, '');
  return {
    applies: (request) => {
      const target = requestUrl(request);
      return (
        target !== undefined &&
        target.scheme === key.scheme &&
        (key.user === undefined || key.user === target.user) &&
        hostsMatch(target.host, key.host) &&
        target.port === key.port &&
        prefixMatches(target.path, key.path)
      );
    },
    username: key.user === undefined ? undefined : named(key.user),
    path: path === '' ? undefined : path,
    host: undefined,
    everyPath: key.path === '/',
    exactPath: false,
  };
}

/**
 * credential.c's partial URL (`github.com`, `https://`, `/path`,
 * `//bob@github.com`, a path to git): each part it gives must equal the
 * request's exactly, decoded, case included.
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
  const username = userinfo === undefined ? undefined : urlDecode(userinfo.split(':')[0]!);
  const decoded = urlDecode(url.slice(hostEnd).replace(/^\/+/, ''));
  // Bytes that are not UTF-8 match only a request that holds them, never one here.
  if (decoded === undefined || (hostEnd > hostStart && host === undefined)) return NEVER;
  if (userinfo !== undefined && username === undefined) return NEVER;
  const path = decoded.replace(/(?<=.)\/+$/, '');
  return {
    applies: (request) =>
      (protocol === undefined || protocol === request.protocol) &&
      (host === undefined || host === request.host) &&
      (username === undefined || username === request.username) &&
      (path === '' || path === request.path),
    username,
    path: path === '' ? undefined : path,
    host,
    everyPath: path === '',
    exactPath: true,
  };
}

function patternOf(url: string): UrlPattern {
  return fullUrl(url) ?? partialUrl(url);
}

/** Whether git applies a `credential.<url>.*` entry to `request`. */
export function appliesToRequest(url: string, request: CredentialRequest): boolean {
  return patternOf(url).applies(request);
}

/**
 * Whether `host` is another spelling of the context's host, one a remote
 * URL may hold (`GitHub.com`, `github.com:0443`, `github.com.`): git sends
 * it as written, and a normalized key for the context's host matches it.
 */
function spellsHost(host: string, context: CredentialContext): boolean {
  if (host === context.host) return false;
  const spelled = normalizeUrl(`${context.protocol}://${host}`, false);
  const wanted = normalizeUrl(`${context.protocol}://${context.host}`, false);
  return (
    spelled !== undefined &&
    wanted !== undefined &&
    spelled.path === '/' &&
    spelled.user === undefined &&
    spelled.port === wanted.port &&
    hostsMatch(spelled.host, wanted.host)
  );
}

/**
 * The request for the host that a key names: its user name, its path and
 * a partial URL's spelling of the host, if any. The key applies to it
 * whenever it applies to any request for the host at all.
 */
export function requestNamedBy(url: string, context: CredentialContext): CredentialRequest {
  const { username, path, host } = patternOf(url);
  const spelled = host !== undefined && spellsHost(host, context);
  return { ...context, ...(spelled ? { host } : {}), username, path };
}

/** How the URL part of a `credential.<url>.*` key applies to `context`. */
export function matchCredentialUrl(url: string, context: CredentialContext): CredentialUrlMatch {
  const pattern = patternOf(url);
  const request = requestNamedBy(url, context);
  if (!pattern.applies(request)) return 'none';
  const every = pattern.username === undefined && pattern.everyPath;
  return every && request.host === context.host ? 'all' : 'some';
}

/**
 * What part of a host's requests a key names, for saying so without
 * printing it (a key's user name, or a path git reads from `//bob:pw@host`,
 * may hold a password): a user name, another spelling of the host (a
 * partial URL's), and a path that is a prefix or, in a partial URL, the
 * one path.
 */
export function keyScope(
  url: string,
  context: CredentialContext,
): { username: boolean; host: boolean; path: 'prefix' | 'exact' | undefined } {
  const { username, path, exactPath, host } = patternOf(url);
  return {
    username: username !== undefined,
    host: host !== undefined && spellsHost(host, context),
    path: path === undefined ? undefined : exactPath ? 'exact' : 'prefix',
  };
}
