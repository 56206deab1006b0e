/**
 * NO_PROXY matching, as curl (and so git) reads the variable, plus the
 * `host:port` entries other tools accept:
 *
 * - a comma- or blank-separated list, case-insensitive; `*` as the whole
 *   value matches every host, and inside a list nothing, as in curl;
 * - a name matches itself and every name below it: `example.com` and
 *   `.example.com` match `example.com` and `api.example.com`, never
 *   `notexample.com`. `*.example.com` is read as `.example.com`, which
 *   curl does not do (there it matches nothing): what the writer meant;
 * - an IP literal matches that address only (`::1` or `[::1]`), a CIDR
 *   range (`10.0.0.0/8`, `fd00::/8`, `[fd00::]/8`) every address in it; a name never
 *   matches an address or the other way round (`localhost` is not `127.0.0.1`);
 * - `entry:port` (`[::1]:8443` for IPv6) matches on that port only.
 */
import { BlockList, isIP } from 'node:net';

interface Entry {
  /** Lowercase name without leading `*.`/`.` or trailing dot, or an IP literal. */
  host: string;
  /** Set for a CIDR range or an IP literal. */
  addresses?: BlockList;
  port?: number;
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

function parseEntry(raw: string): Entry | undefined {
  let text = raw.toLowerCase();
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](\/\d{1,3})?(?::(\d+))?$/.exec(text);
  const hostPort = /^([^:]+):(\d+)$/.exec(text);
  if (bracketed !== null) {
    text = bracketed[1]! + (bracketed[2] ?? '');
    if (bracketed[3] !== undefined) port = Number(bracketed[3]);
  } else if (hostPort !== null) {
    // One colon: host:port. Two or more: a bare IPv6 literal, no port.
    text = hostPort[1]!;
    port = Number(hostPort[2]);
  }

  const cidr = /^(.+)\/(\d{1,3})$/.exec(text);
  if (cidr !== null) {
    const [, network, bits] = cidr;
    if (isIP(network!) === 0 || Number(bits) > (isIP(network!) === 4 ? 32 : 128)) return undefined;
    const addresses = new BlockList();
    addresses.addSubnet(network!, Number(bits), familyOf(network!));
    return { host: text, addresses, ...(port === undefined ? {} : { port }) };
  }
  if (isIP(text) !== 0) {
    const addresses = new BlockList();
    addresses.addAddress(text, familyOf(text));
    return { host: text, addresses, ...(port === undefined ? {} : { port }) };
  }
  const host = text.replace(/^\*?\./, '').replace(/\.$/, '');
  return host === '' ? undefined : { host, ...(port === undefined ? {} : { port }) };
}

/** A parsed NO_PROXY value; entries it cannot read match nothing, as in curl. */
export class NoProxyList {
  readonly #all: boolean;
  readonly #entries: Entry[];

  constructor(value: string) {
    const words = value.split(/[\s,]+/).filter((word) => word !== '');
    this.#all = value.trim() === '*';
    this.#entries = words.flatMap((word) => parseEntry(word) ?? []);
  }

  /** True when requests to `hostname` (a URL's, brackets allowed) on `port` bypass the proxy. */
  matches(hostname: string, port: number): boolean {
    if (this.#all) return true;
    const host = hostname
      .toLowerCase()
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, '');
    const ip = isIP(host);
    return this.#entries.some((entry) => {
      if (entry.port !== undefined && entry.port !== port) return false;
      if (entry.addresses !== undefined) {
        return ip !== 0 && entry.addresses.check(host, ip === 6 ? 'ipv6' : 'ipv4');
      }
      return ip === 0 && (host === entry.host || host.endsWith(`.${entry.host}`));
    });
  }
}
