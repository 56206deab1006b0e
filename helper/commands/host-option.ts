/**
 * The `--host` value `configure` and `token` take: a host name (https), or
 * a URL whose scheme says how git reaches the host (`http://127.0.0.1:8080`
 * for a server on loopback, the only place plain http is served).
 */
import { isLoopbackHost, normalizeHost } from '../../shared/hosts.js';
import { BrokerError } from '../../shared/errors.js';

export interface HostOption {
  protocol: 'https' | 'http';
  /** Lowercase, with its port when it has one. */
  host: string;
}

export function parseHostOption(value: string): HostOption {
  const match = /^(https?):\/\/([^/]+)(\/.*)?$/.exec(value);
  if (match) {
    const protocol = match[1] as HostOption['protocol'];
    if (match[3] !== undefined && match[3] !== '/') {
      throw new BrokerError(
        'BAD_REQUEST',
        `'${value}' has a path; --host takes a host name or a URL without a path, for example --host ${protocol}://${match[2]}`,
      );
    }
    // Judged as the daemon judges it: `http://LocalHost.:8080` is this machine.
    if (protocol === 'http' && !isLoopbackHost(normalizeHost('http', match[2]!))) {
      // The daemon never sends a token over it.
      throw new BrokerError(
        'BAD_REQUEST',
        `'${value}' is plain http to a host that is not this machine, and the broker never sends a token over that; use --host https://${match[2]} (or just --host ${match[2]})`,
      );
    }
    return { protocol, host: match[2]!.toLowerCase() };
  }
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/.test(value)) {
    throw new BrokerError(
      'BAD_REQUEST',
      `'${value}' is not a host name; use for example --host github.com`,
    );
  }
  return { protocol: 'https', host: value.toLowerCase() };
}
