/**
 * Unix groups for listener sockets: a group named in the config resolved to
 * its gid, and whether this daemon may give a socket to it. Node has no
 * getgrnam(3): /etc/group is read first, then `getent group`, which also
 * asks NSS (LDAP, sssd) when the group lives there.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface UnixGroup {
  /** The name as the config wrote it, or the gid in decimal when given as one. */
  name: string;
  gid: number;
}

/** The identity that decides what chown(2) allows: root, or a member. */
export interface ProcessIdentity {
  euid: number;
  egid: number;
  groups: readonly number[];
}

export function currentIdentity(): ProcessIdentity {
  return {
    euid: process.geteuid?.() ?? -1,
    egid: process.getegid?.() ?? -1,
    groups: process.getgroups?.() ?? [],
  };
}

/** `name:x:gid:members` lines; the gid of `name`, if listed. */
export function gidInGroupFile(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    const [entry, , gid] = line.split(':');
    if (entry === name && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** `name:x:gid:members` lines; the name of the group with `gid`, if listed. */
export function nameInGroupFile(text: string, gid: number): string | undefined {
  for (const line of text.split('\n')) {
    const [entry, , id] = line.split(':');
    if (entry !== undefined && entry !== '' && id === String(gid)) return entry;
  }
  return undefined;
}

/** `getent group KEY`'s line (a name or a gid: NSS takes both), or '' when it knows none. */
function getent(key: string): Promise<string> {
  return new Promise((resolve) => {
    // `--` keeps a name starting with a dash from reading as an option.
    execFile('getent', ['group', '--', key], { timeout: 5000 }, (error, stdout) => {
      resolve(error ? '' : stdout);
    });
  });
}

async function groupFileText(groupFile: string): Promise<string> {
  try {
    return await readFile(groupFile, 'utf8');
  } catch {
    // No /etc/group (a minimal container): getent may still know it.
    return '';
  }
}

/** A group as a gid: whether this machine knows it, and by which name. */
export interface GidLookup {
  group: UnixGroup;
  /** Set when neither the group file nor getent names the gid. */
  unknown?: true;
}

/**
 * Resolves a gid (a number, or a string of digits: no group name is all
 * digits, as groupadd refuses them) to its group, named as the machine
 * names it. A gid the machine does not know is still a gid (a sandbox's,
 * from another user namespace, say), marked unknown for a warning.
 */
export async function lookUpGid(gid: number, groupFile = '/etc/group'): Promise<GidLookup> {
  const name =
    nameInGroupFile(await groupFileText(groupFile), gid) ??
    nameInGroupFile(await getent(String(gid)), gid);
  return name === undefined
    ? { group: { name: String(gid), gid }, unknown: true }
    : { group: { name, gid } };
}

/**
 * Resolves a group name to its gid; undefined when this machine knows no
 * such group. A number is taken as a gid as it is.
 */
export async function lookUpGroup(
  group: string | number,
  groupFile = '/etc/group',
): Promise<UnixGroup | undefined> {
  if (typeof group === 'number') return { name: String(group), gid: group };

  const gid =
    gidInGroupFile(await groupFileText(groupFile), group) ??
    gidInGroupFile(await getent(group), group);
  return gid === undefined ? undefined : { name: group, gid };
}

/**
 * Whether chown(2) lets this process give a file it owns to `gid`: root
 * may give it to any group, anyone else only to a group it is in now.
 */
export function mayUseGroup(gid: number, identity: ProcessIdentity): boolean {
  return identity.euid === 0 || identity.egid === gid || identity.groups.includes(gid);
}
