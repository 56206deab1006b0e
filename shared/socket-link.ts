/**
 * What a symbolic link at the socket path leads to, for the client's
 * messages when connecting through it fails. Found in review: a chain of
 * links was reported as its second link missing, a link to a stale socket
 * got `daemon --detach --socket LINK` (the daemon refuses a link there),
 * and a link to a regular file was called a regular file.
 */
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { printable, shellQuote } from './printable.js';
import { askOperatorToStart } from './socket-operator.js';

/** Linux follows at most 40 links in a path; past that it says ELOOP. */
const MAX_LINK_HOPS = 40;

/** Where the symbolic link at `path` points; undefined when it is no link. */
export function linkTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

/** A link at the socket path: what it says, where its chain ends, in how many links. */
export interface LinkChain {
  /** The link's own text, as `ls -l` shows it. */
  target: string;
  /** The absolute path the last link names (each resolved from its link's directory). */
  end: string;
  links: number;
}

/** The chain of links at `path`, or undefined when it is no link. */
export function followLinks(path: string): LinkChain | undefined {
  const target = linkTarget(path);
  if (target === undefined) return undefined;
  let end = path;
  let links = 0;
  let next: string | undefined = target;
  while (next !== undefined && links < MAX_LINK_HOPS) {
    // Relative to the link's directory, as the kernel follows it.
    end = resolve(dirname(end), next);
    links++;
    next = linkTarget(end);
  }
  return { target, end, links };
}

/** "'LINK' is a symbolic link to 'TARGET'", with the chain's end when it is longer than one link. */
export function linkPhrase(socketPath: string, chain: LinkChain): string {
  const head = `'${socketPath}' is a symbolic link to '${printable(chain.target, 300)}'`;
  if (chain.links === 1) return head;
  return `${head}, a chain of ${chain.links} links that ends at '${printable(chain.end, 300)}'`;
}

/** What a file is when it is no socket ('a regular file'); undefined for a socket or nothing. */
export function notASocket(socketPath: string): string | undefined {
  let stats;
  try {
    stats = statSync(socketPath, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (stats === undefined || stats.isSocket()) return undefined;
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe';
  return 'a device or other special file';
}

/**
 * Why a link at the socket path refused the connection (ECONNREFUSED):
 * it ends at a file that is no socket, or at a socket nobody listens on.
 * The daemon listens on no link, so the fix names the link's end.
 */
export function refusedThroughLink(socketPath: string, chain: LinkChain): string {
  const link = shellQuote(socketPath);
  const kind = notASocket(socketPath);
  if (kind !== undefined) {
    return `${linkPhrase(socketPath, chain)}, which is ${kind}, not a socket: no daemon can listen there; remove the link (rm ${link}) if nothing needs it, or give the broker another --socket path`;
  }
  const ask = askOperatorToStart(chain.end);
  if (ask !== undefined) {
    return `${linkPhrase(socketPath, chain)}, a socket no broker daemon is listening on (stale socket); ${ask}`;
  }
  return `${linkPhrase(socketPath, chain)}, a socket no broker daemon is listening on (stale socket); a daemon does not listen through a link: start it on the link's end (git-credential-broker daemon --detach --socket ${shellQuote(chain.end)}), or remove the link (rm ${link}) and start it there`;
}
