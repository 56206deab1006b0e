/**
 * `token`: a raw token (or the whole envelope as JSON) for internal tools
 * that need one outside git. Served, cached and audited like a git request.
 */
import { BrokerError } from '../../shared/errors.js';
import { printable, terminalJson } from '../../shared/printable.js';
import { PROTOCOL_VERSION, type PermissionLevel, type Permissions } from '../../shared/protocol.js';
import { askDaemon } from '../ask-daemon.js';
import { requester } from '../git-actions.js';
import { tokenTarget } from './target-argument.js';

export function parsePermissionFlags(flags: string[]): Permissions | undefined {
  if (flags.length === 0) return undefined;
  const permissions: Permissions = {};
  for (const flag of flags) {
    const match = /^([a-z_]+)=(.*)$/.exec(flag);
    // Found in a new-user trial: CONTENTS=read was called "not name=level".
    if (!match && /^[A-Za-z_]+=/.test(flag)) {
      throw new BrokerError(
        'BAD_REQUEST',
        `--permission '${printable(flag, 200)}': permission names are lowercase; for example --permission ${printable(flag.slice(0, flag.indexOf('=')).toLowerCase(), 60)}=read`,
      );
    }
    if (!match) {
      throw new BrokerError(
        'BAD_REQUEST',
        `--permission '${printable(flag, 200)}' is not name=level; for example --permission contents=read`,
      );
    }
    // Found in a new-user trial: contents=rw was called "not name=level".
    const [, name, level] = match as unknown as [string, string, string];
    if (level !== 'read' && level !== 'write' && level !== 'admin') {
      throw new BrokerError(
        'BAD_REQUEST',
        `--permission '${printable(flag, 200)}': the level must be read, write or admin; for example --permission ${name}=read`,
      );
    }
    permissions[name] = level satisfies PermissionLevel;
  }
  return permissions;
}

export async function printToken(options: {
  socketPath: string;
  repository: string;
  /** Undefined: the daemon's one host, for an owner/repo argument. */
  host: string | undefined;
  permissions: string[];
  json: boolean;
  print: (text: string) => void;
}): Promise<void> {
  const { target, hostFromDaemon } = tokenTarget(options.repository, options.host);
  const permissions = parsePermissionFlags(options.permissions);
  const reply = await askDaemon(
    options.socketPath,
    {
      v: PROTOCOL_VERSION,
      op: 'get',
      target,
      requester: requester(),
      ...(permissions === undefined ? {} : { permissions }),
      ...(hostFromDaemon ? { hostFromDaemon } : {}),
    },
    { autostart: true },
  ).catch((error: unknown) => {
    if (error instanceof BrokerError && error.code === 'NO_INTEGRATION') {
      throw new BrokerError(
        'NO_INTEGRATION',
        `${error.message}; pass --host with the host your integration serves, or a clone URL`,
      );
    }
    throw error;
  });
  const credential = reply.credential;
  if (!credential) throw new BrokerError('INTERNAL', 'the daemon answered without a credential');

  if (!options.json) {
    // Printed bare, so it cannot go through printable() (which would change
    // it): sendRequest has refused a secret holding what a terminal acts on
    // (shared/reply-shape.ts), with the message git's get gives.
    options.print(`${credential.secret}\n`);
    return;
  }
  options.print(
    `${terminalJson({
      token: credential.secret,
      username: credential.username,
      expiresAt: new Date(credential.expiresAtMs).toISOString(),
      repositories: credential.granted.repositories,
      permissions: credential.granted.permissions,
      cached: credential.cached,
    })}\n`,
  );
}
