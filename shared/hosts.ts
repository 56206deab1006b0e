/** Host names as the daemon and the helper both judge them. */

/**
 * `name[:port]` taken apart; undefined when the name still holds a colon
 * outside brackets (`127.0.0.1:8080:80`, a bare IPv6 address): such a host
 * is malformed, and taking one port off would make it another, valid host.
 */
function splitPort(host: string): { name: string; port: string | undefined } | undefined {
  // dotAll: any character at all is a name character here, never a reason
  // for the match (and the assertion after it) to fail.
  const match = /^(.*?)(?::([0-9]+))?$/s.exec(host)!;
  const name = match[1]!;
  if (name.includes(':') && !/^\[[^\]]*\]$/.test(name)) return undefined;
  return { name, port: match[2] };
}

/** True for hosts whose traffic never leaves this machine. */
export function isLoopbackHost(host: string): boolean {
  const parts = splitPort(host);
  if (parts === undefined) return false;
  const name = parts.name.replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || /^127(\.[0-9]{1,3}){3}$/.test(name);
}

const DEFAULT_PORTS: Record<string, string> = { https: '443', http: '80' };

/**
 * Lowercase, no trailing dot, no default port: `GitHub.com.:443` is
 * `github.com`. A malformed host (more than one port) is only lowercased,
 * so it matches no configured host.
 */
export function normalizeHost(protocol: string, host: string): string {
  const lower = host.toLowerCase();
  const parts = splitPort(lower);
  if (parts === undefined) return lower;
  const name = parts.name.replace(/\.$/, '');
  const { port } = parts;
  return port === undefined || port === DEFAULT_PORTS[protocol] ? name : `${name}:${port}`;
}
