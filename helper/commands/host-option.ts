/**
 * The `--host` value `configure` and `token` take: a host name (https), or
 * a URL whose scheme says how git reaches the host (`http://127.0.0.1:8080`
 * for a server on loopback, the only place plain http is served). Both
 * forms are held to one grammar, and no error repeats a user name or
 * password someone put in the value.
 */
import { isLoopbackHost, normalizeHost } from '../../shared/hosts.js';
import { BrokerError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';

export interface HostOption {
  protocol: 'https' | 'http';
  /** Lowercase, with its port when it has one. */
  host: string;
}

function refuse(message: string): never {
  throw new BrokerError('BAD_REQUEST', message);
}

/** A DNS name: labels of letters, digits and inner hyphens; one trailing dot allowed. */
const DNS_NAME =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$/i;

/**
 * True for `name[:port]` with a DNS name, IPv4 address or bracketed IPv6
 * address, and a port from 1 to 65535. The WHATWG URL parser must read it
 * back as the same host: it rewrites `1.2.3` to `1.2.0.3`, which git would
 * not.
 */
function isHostAndPort(value: string): boolean {
  const match = /^([^:[\]]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?$/.exec(value);
  if (!match) return false;
  const [, name, port] = match as unknown as [string, string, string | undefined];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  if (!name.startsWith('[') && !DNS_NAME.test(name)) return false;
  let parsed: URL;
  try {
    parsed = new URL(`https://${name}/`);
  } catch {
    return false;
  }
  return name.startsWith('[') || parsed.hostname === name.toLowerCase();
}

/** The host form: `github.com`, `ghe.example.com:8443`. */
function checkHost(value: string, example: string): void {
  if (!isHostAndPort(value)) {
    refuse(
      `'${printable(value, 200)}' is not a host name with an optional port; use for example --host ${example}`,
    );
  }
}

/** The URL form: `https://ghe.example.com`, `http://127.0.0.1:8080/`. */
function parseHostUrl(value: string, scheme: string): HostOption {
  const rest = value.slice(scheme.length + '://'.length);
  const end = rest.search(/[/?#\\]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const after = end === -1 ? '' : rest.slice(end);
  const protocol = scheme.toLowerCase();
  if (protocol !== 'https' && protocol !== 'http') {
    refuse(
      `--host takes a host name or an https:// URL (http:// for this machine only), not ${printable(scheme, 20)}://; for example --host https://github.com`,
    );
  }
  checkHost(authority, protocol === 'http' ? 'http://127.0.0.1:8080' : 'https://github.com');
  const base = `${protocol}://${authority}`;
  if (after !== '' && after !== '/') {
    refuse(
      `'${base}…' has a path, query or fragment; --host takes a host name or a URL without them, for example --host ${base}`,
    );
  }
  // Judged as the daemon judges it: `http://LocalHost.:8080` is this machine.
  if (protocol === 'http' && !isLoopbackHost(normalizeHost('http', authority))) {
    // The daemon never sends a token over it.
    refuse(
      `'${base}' is plain http to a host that is not this machine, and the broker never sends a token over that; use --host https://${authority} (or just --host ${authority})`,
    );
  }
  return { protocol: protocol as HostOption['protocol'], host: authority.toLowerCase() };
}

export function parseHostOption(value: string): HostOption {
  // Not quoted, nor any part of it: what comes before an '@' may be a
  // password, and a '/' or '?' in one moves where a parser says it ends.
  if (value.includes('@')) {
    refuse(
      `--host takes no user name or password (the value has an '@'); give the host alone, for example --host github.com or --host https://github.com`,
    );
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value);
  if (scheme) return parseHostUrl(value, scheme[1]!);
  checkHost(value, 'github.com');
  return { protocol: 'https', host: value.toLowerCase() };
}
