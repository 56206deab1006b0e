/**
 * Who besides the daemon's own user may connect to a listener: nobody
 * (mode 0600, the default), or the members of one group (mode 0660), for a
 * sandbox that runs as another uid. Never others: a socket open to every
 * user would hand its tokens to anything on the machine.
 *
 *   { "socket": "/run/broker/ci/daemon.sock", "group": "ci-sandbox" }
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { ConfigFields, describe } from './config-fields.js';
import {
  currentIdentity,
  lookUpGroup,
  mayUseGroup,
  type ProcessIdentity,
  type UnixGroup,
} from './unix-groups.js';

/** A socket its group may connect to; absent from a listener: 0600. */
export interface GroupAccess {
  group: UnixGroup;
}

/** Mode of a socket open to its group, and of the directories made for one. */
export const GROUP_SOCKET_MODE = 0o660;
const GROUP_DIRECTORY_MODE = 0o710;

const MODES: Record<string, number> = { '0600': 0o600, '600': 0o600, '0660': 0o660, '660': 0o660 };

function parseMode(fields: ConfigFields): number | undefined {
  const value = fields.object.mode;
  if (value === undefined) return undefined;
  const mode = typeof value === 'string' ? MODES[value] : undefined;
  if (mode === undefined) {
    // A JSON number is decimal: 660 would be mode 1224.
    return fields.fail(
      'mode',
      `must be "0600" (this user only) or "0660" (this user and "group"), as a string; got ${describe(value)}. Other users are never given access`,
    );
  }
  return mode;
}

async function parseGroup(fields: ConfigFields): Promise<UnixGroup | undefined> {
  const value = fields.object.group;
  if (value === undefined) return undefined;
  const valid =
    (typeof value === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(value)) ||
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0);
  if (!valid) {
    return fields.fail('group', `must be a group name or a gid, got ${describe(value)}`);
  }
  const group = await lookUpGroup(value as string | number);
  if (group === undefined) {
    return fields.fail(
      'group',
      `names group '${String(value)}', which this machine does not know (not in /etc/group, nor from getent); create it (groupadd ${String(value)}) or name an existing group`,
    );
  }
  return group;
}

/**
 * Reads `group` and `mode`. Refuses what chown(2) would refuse at start (a
 * group this user is not in), so a reload finds it too.
 */
export async function parseGroupAccess(
  fields: ConfigFields,
  identity: ProcessIdentity = currentIdentity(),
): Promise<GroupAccess | undefined> {
  const mode = parseMode(fields);
  const named = await parseGroup(fields);
  if (mode === 0o600) {
    if (named !== undefined) {
      fields.fail(
        'group',
        `has no effect with "mode": "0600"; drop "group", or use "mode": "0660" to let its members connect`,
      );
    }
    return undefined;
  }
  // "0660" alone: the group the socket is created with, this user's primary.
  const group =
    named ?? (mode === undefined ? undefined : { name: String(identity.egid), gid: identity.egid });
  if (group === undefined) return undefined;

  if (!mayUseGroup(group.gid, identity)) {
    fields.fail(
      'group',
      `names group '${group.name}' (gid ${group.gid}), which this daemon's user (uid ${identity.euid}) is not a member of, so it cannot give the socket to it; add the user to the group (usermod -aG ${group.name} USER) and start the daemon from a new login, or name a group it is in (id -Gn lists them)`,
    );
  }
  return { group };
}

/** Whether members of `gid` (not the owner, not root) may search the directory. */
function groupMaySearch(stats: Stats, gid: number): boolean {
  return (stats.mode & 0o001) !== 0 || ((stats.mode & 0o010) !== 0 && stats.gid === gid);
}

function describeDirectory(stats: Stats): string {
  return `mode ${(stats.mode & 0o7777).toString(8)}, group ${stats.gid}`;
}

/**
 * Creates the missing levels of the socket's directory 0710 and gives them
 * to the group: members may pass through, not list or write. An existing
 * directory is only checked: the daemon never changes the mode of one it
 * did not create.
 */
function createGroupDirectories(directory: string, group: UnixGroup): void {
  const missing: string[] = [];
  for (let dir = directory; !lstatSync(dir, { throwIfNoEntry: false }); dir = dirname(dir)) {
    missing.unshift(dir);
  }
  const previous = process.umask(0o077);
  try {
    for (const dir of missing) {
      mkdirSync(dir, { mode: 0o700 });
      // chown before chmod: never searchable by another group, even briefly.
      chownSync(dir, -1, group.gid);
      chmodSync(dir, GROUP_DIRECTORY_MODE);
    }
  } finally {
    process.umask(previous);
  }
}

/**
 * Makes sure the group's members can reach the socket: its directory is
 * this user's, writable by no one else (or they could replace the socket),
 * and searchable by the group; so is every directory above it.
 */
export function ensureGroupDirectory(directory: string, access: GroupAccess): void {
  const { group } = access;
  createGroupDirectories(directory, group);

  const stats = statSync(directory);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new ConfigError(
      `socket directory '${directory}' belongs to uid ${stats.uid}, not to this user (uid ${uid}); use a directory of your own`,
    );
  }
  if ((stats.mode & 0o022) !== 0) {
    throw new ConfigError(
      `socket directory '${directory}' is writable by other users (${describeDirectory(stats)}), who could replace the socket; run: chmod 710 '${directory}'`,
    );
  }
  if (!groupMaySearch(stats, group.gid)) {
    throw new ConfigError(
      `socket directory '${directory}' does not let group '${group.name}' reach the socket (${describeDirectory(stats)}); run: chgrp ${group.name} '${directory}' && chmod 710 '${directory}'`,
    );
  }
  for (let above = dirname(directory); ; above = dirname(above)) {
    const parent = statSync(above);
    if (!groupMaySearch(parent, group.gid)) {
      throw new ConfigError(
        `directory '${above}' above socket directory '${directory}' does not let group '${group.name}' through (${describeDirectory(parent)}), so its members cannot reach the socket; run: chmod o+x '${above}' (or: chgrp ${group.name} '${above}' && chmod g+x '${above}'), or put the socket elsewhere`,
      );
    }
    if (dirname(above) === above) break;
  }
}

/** Gives a socket just created (0600) to its group, then opens it to the group. */
export function openSocketToGroup(socketPath: string, access: GroupAccess): void {
  const { group } = access;
  try {
    // The group first, then the mode: never open to a group it is not for.
    chownSync(socketPath, -1, group.gid);
    chmodSync(socketPath, GROUP_SOCKET_MODE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    throw new ConfigError(
      `cannot give socket '${socketPath}' to group '${group.name}' (gid ${group.gid}): ${code}; the daemon's user must be root or a member of the group (id -Gn lists its groups)`,
    );
  }
}
