/**
 * The symbolic links a socket path passes through. A link's owner can point
 * it elsewhere at any time, whatever the directories around it allow: a
 * link of another user on the way to the socket lets that user send git's
 * helper to a socket of their own (found in review: nobody's
 * /tmp/evil-link to root's directory passed every directory check, and
 * once re-pointed, root's helper handed nobody its request). So every link
 * on the way must belong to root or the daemon's user, and so must every
 * directory holding one (its owner could replace the link).
 */
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { checkNotReplaceable } from './directories-above.js';

/** The kernel's own limit on links followed in one lookup (ELOOP). */
const MAX_LINKS = 40;

/** A link met while walking a path, where it was and whose it is. */
export interface LinkOnPath {
  /** The link's path, as far as the walk had resolved it. */
  path: string;
  /** The directory holding the link. */
  holder: string;
  owner: number;
}

/** What walking a path found: the links on the way and where it leads. */
export interface WalkedPath {
  links: LinkOnPath[];
  /** The path with every link resolved; a missing tail kept as written. */
  resolved: string;
}

/**
 * Walks `path` one name at a time as the kernel does, following each link
 * into its target. Stops at the first name that does not exist (the
 * daemon may be about to create it): the rest is kept as written.
 */
export function walkPath(path: string): WalkedPath {
  const links: LinkOnPath[] = [];
  let pending = names(resolve(path));
  let done = '/';
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      done = dirname(done);
      continue;
    }
    const next = join(done, name);
    const stats = lstatSync(next, { throwIfNoEntry: false });
    if (stats === undefined) return { links, resolved: join(next, ...pending) };
    if (!stats.isSymbolicLink()) {
      done = next;
      continue;
    }
    if (links.length === MAX_LINKS) {
      throw new ConfigError(
        `socket path '${path}' passes through more than ${MAX_LINKS} symbolic links (a loop?); give the socket a path without them`,
      );
    }
    links.push({ path: next, holder: done, owner: stats.uid });
    const target = readlinkSync(next);
    pending = [...names(target), ...pending];
    if (isAbsolute(target)) done = '/';
  }
  return { links, resolved: done };
}

function names(path: string): string[] {
  return path.split('/').filter((name) => name !== '' && name !== '.');
}

/**
 * Refuses a socket path that passes through a symbolic link another user
 * owns, or through one in a directory another user could replace it in.
 * The error names the link, its owner and the path it resolves to, which
 * is what to give instead. No check without a uid (Windows).
 */
export function checkLinksOnPath(socketPath: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const { links, resolved } = walkPath(dirname(socketPath));
  const resolvedSocket = join(resolved, basename(socketPath));
  for (const link of links) {
    if (link.owner !== 0 && link.owner !== uid) {
      throw new ConfigError(
        `socket path '${socketPath}' passes through symbolic link '${link.path}', which belongs to uid ${link.owner}: that user could point it elsewhere and put another socket where git's helper connects; use the path it resolves to, '${resolvedSocket}', or a link that only root or this user (uid ${uid}) own`,
      );
    }
    checkNotReplaceable(link.holder, statSync(link.holder), dirname(socketPath), uid);
  }
}
