/**
 * Who besides the daemon's own user may connect to a listener: nobody
 * (mode 0600, the default), or the members of one group (mode 0660), for a
 * sandbox that runs as another uid. Never others: a socket open to every
 * user would hand its tokens to anything on the machine.
 *
 *   { "socket": "/run/broker/ci/daemon.sock", "group": "ci-sandbox" }
 */
import { chmodSync, chownSync } from 'node:fs';
import { ConfigError } from '../shared/errors.js';
import { ConfigFields, describe } from './config-fields.js';
import {
  currentIdentity,
  lookUpGid,
  lookUpGroup,
  mayUseGroup,
  type ProcessIdentity,
  type UnixGroup,
} from './unix-groups.js';

/** A socket its group may connect to; absent from a listener: 0600. */
export interface GroupAccess {
  group: UnixGroup;
}

/** Mode of a socket open to its group (its directory: group-directory.ts). */
export const GROUP_SOCKET_MODE = 0o660;

const MODES: Record<string, number> = { '0600': 0o600, '600': 0o600, '0660': 0o660, '660': 0o660 };

/** gids are 32-bit, and (uid_t)-1 means "no change" to chown(2). */
const MAX_GID = 0xfffffffe;

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
  // All digits: a gid, however it is written ("4" or 4).
  if (typeof value === 'number' || /^[0-9]+$/.test(value as string)) {
    const gid = Number(value);
    if (!Number.isSafeInteger(gid) || gid > MAX_GID) {
      return fields.fail('group', `names gid ${String(value)}, which is not a valid gid`);
    }
    const found = await lookUpGid(gid);
    if (found.unknown === true) {
      fields.warn(
        'group',
        `names gid ${gid}, which no group on this machine has (not in /etc/group, nor from getent); the socket is given to gid ${gid} as asked: check that it is the sandbox's gid, or name the group`,
      );
    }
    return found.group;
  }
  const group = await lookUpGroup(value as string);
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
