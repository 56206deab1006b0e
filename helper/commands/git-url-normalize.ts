/**
 * URLs as git compares them for `credential.<url>.*` keys: urlmatch.c's
 * url_normalize on both sides, the key's URL and the one credential.c
 * writes for the request (credential_format, strbuf_add_percentencode).
 * Escapes are compared normalized, not decoded: an escaped delimiter
 * (`%2F`, `%3A`, `%40`, `%3F`, `%23`...) stays escaped, an escaped
 * unreserved character (`%6D`, `%7E`) is decoded, an unsafe one is
 * escaped, and every escape is uppercase. Git writes a request's user name
 * and path with every delimiter escaped, `/` in the path alone kept, so a
 * key's `acme%3Ax` names the path `acme:x`, while `acme:x` written
 * literally, or `acme%2Fx`, names no path git ever sends.
 */

/** Characters url_normalize always escapes, as controls and non-ASCII bytes. */
const UNSAFE = ' <>"%{}|\\^`';
/** Delimiters: kept escaped when found escaped, never escaped when found plain. */
const RESERVED = ":/?#[]@!$&'()*+,;=";
/** What strbuf_add_percentencode escapes in a request, with controls and non-ASCII bytes. */
const ENCODED = ' <>"%{}|\\^`:?#[]@!$&\'()*+,;=';

function escaped(byte: number): string {
  return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** append_normalized_escapes(…, "", URL_RESERVED), byte by byte; undefined for a bad `%` escape. */
function normalEscapes(text: string): string | undefined {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    let byte = bytes[i]!;
    let wasEscaped = false;
    if (byte === 0x25) {
      const hex = bytes.toString('latin1', i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      byte = parseInt(hex, 16);
      i += 2;
      wasEscaped = true;
    }
    const char = String.fromCharCode(byte);
    const keep =
      byte <= 0x1f ||
      byte >= 0x7f ||
      UNSAFE.includes(char) ||
      (wasEscaped && RESERVED.includes(char));
    out += keep ? escaped(byte) : char;
  }
  return out;
}

/** strbuf_add_percentencode: how git writes a request's user name (`/` too) and path. */
export function percentEncode(text: string, encodeSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    const encode =
      byte <= 0x1f || byte >= 0x7f || (encodeSlash && char === '/') || ENCODED.includes(char);
    out += encode ? escaped(byte) : char;
  }
  return out;
}

/**
 * Every `%XX` decoded, the bytes read as UTF-8 (url_decode, for text);
 * undefined when they are not UTF-8, which no request here can hold.
 */
export function urlDecode(text: string): string | undefined {
  const parts = text.split(/(%[0-9A-Fa-f]{2})/);
  const bytes = Buffer.concat(
    parts.map((part, i) =>
      i % 2 === 1 ? Buffer.of(parseInt(part.slice(1), 16)) : Buffer.from(part, 'utf8'),
    ),
  );
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A URL after url_normalize: the parts git matches a credential key by. */
export interface NormalUrl {
  /** Lowercase. */
  scheme: string;
  /** Undefined without an `@`; '' for an empty user name (`https://@host`). */
  user: string | undefined;
  /** Lowercase; may hold `*` labels in a key. */
  host: string;
  /** '' for none or the scheme's default; no leading zeros. */
  port: string;
  /** The path from its `/`, dot segments resolved, then any query or fragment. */
  path: string;
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

/** The path part (from `/`, `?`, `#` or nothing on), as url_normalize writes it. */
function normalPath(raw: string): string | undefined {
  const segments: string[] = [];
  let rest = raw.startsWith('/') ? raw.slice(1) : raw;
  for (;;) {
    let end = rest.search(/[/?#]/);
    if (end === -1) end = rest.length;
    // Escapes first: `%2e` is a dot segment too.
    const segment = normalEscapes(rest.slice(0, end));
    if (segment === undefined) return undefined;
    if (segment === '..') {
      if (segments.length === 0) return undefined;
      segments.pop();
    } else if (segment !== '.') {
      segments.push(segment);
    }
    rest = rest.slice(end);
    if (!rest.startsWith('/')) break;
    rest = rest.slice(1);
  }
  const query = rest === '' ? '' : normalEscapes(rest);
  return query === undefined ? undefined : `/${segments.join('/')}${query}`;
}

/**
 * url_normalize (with `*` host labels when `globs`, as for keys);
 * undefined for what git cannot normalize, which it then reads as a
 * partial URL if it is a key. Not file: URLs, which have no host and match
 * no http(s) request either way.
 */
export function normalizeUrl(url: string, globs: boolean): NormalUrl | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!scheme) return undefined;
  let rest = url.slice(scheme[0].length);

  let hostEnd = rest.search(/[/?#]/);
  if (hostEnd === -1) hostEnd = rest.length;
  const at = rest.indexOf('@');
  let user: string | undefined;
  if (at !== -1 && at < hostEnd) {
    const userinfo = normalEscapes(rest.slice(0, at));
    if (userinfo === undefined) return undefined;
    // Up to the first ':' left after normalizing: an escaped one is no separator.
    user = userinfo.split(':')[0]!;
    rest = rest.slice(at + 1);
    hostEnd -= at + 1;
  }
  if (hostEnd === 0 || rest.startsWith(':')) return undefined;

  // The last ':' that is not inside an IPv6 literal's brackets.
  let colon = hostEnd - 1;
  while (colon > 0 && rest[colon] !== ':' && rest[colon] !== ']') colon--;
  if (rest[colon] !== ':') colon = hostEnd;
  const host = rest.slice(0, colon);
  if (!(globs ? /^[A-Za-z0-9.\-_[:\]*]*$/ : /^[A-Za-z0-9.\-_[:\]]*$/).test(host)) return undefined;
  const lower = scheme[1]!.toLowerCase();
  const port = colon < hostEnd ? normalPort(lower, rest.slice(colon + 1, hostEnd)) : '';
  const path = normalPath(rest.slice(hostEnd));
  if (port === undefined || path === undefined) return undefined;
  return { scheme: lower, user, host: host.toLowerCase(), port, path };
}
