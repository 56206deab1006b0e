/** Host names as the daemon and the helper both judge them. */

/** True for hosts whose traffic never leaves this machine. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:[0-9]+$/, '').replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || /^127(\.[0-9]{1,3}){3}$/.test(name);
}

const DEFAULT_PORTS: Record<string, string> = { https: '443', http: '80' };

/** Lowercase, no trailing dot, no default port: `GitHub.com.:443` is `github.com`. */
export function normalizeHost(protocol: string, host: string): string {
  // dotAll: any character at all is a name character here, never a reason
  // for the match (and the assertion after it) to fail.
  const match = /^(.*?)(?::([0-9]+))?$/s.exec(host.toLowerCase())!;
  const name = match[1]!.replace(/\.$/, '');
  const port = match[2];
  return port === undefined || port === DEFAULT_PORTS[protocol] ? name : `${name}:${port}`;
}
