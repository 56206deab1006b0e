/**
 * `reload`: sends SIGHUP to the daemon on a socket, which reloads its config
 * file and keys (daemon/config-reload.ts). The pid comes from `status`, so
 * only the daemon's unrestricted socket can be used (a listener with a
 * client policy refuses status), and it is checked to be a broker daemon of
 * this user before any signal is sent: a daemon in another pid namespace (a
 * container sharing its socket) reports a pid that means another process here.
 */
import { statSync } from 'node:fs';
import { ConfigError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { askDaemon } from '../ask-daemon.js';
import { checkBrokerDaemon } from './socket-holder.js';

/** Refuses a socket another user owns: whoever holds the path picks the pid. */
export function checkSocketOwner(socketPath: string): void {
  const uid = process.getuid?.();
  const owner = statSync(socketPath, { throwIfNoEntry: false })?.uid;
  if (uid !== undefined && owner !== undefined && owner !== uid) {
    throw new ConfigError(
      `socket '${printable(socketPath, 300)}' belongs to another user (uid ${owner}); only the daemon's own user can reload it`,
    );
  }
}

export async function reloadDaemon(
  socketPath: string,
  print: (text: string) => void,
): Promise<void> {
  const reply = await askDaemon(socketPath, { v: PROTOCOL_VERSION, op: 'status' });
  const status = reply.status;
  if (!status) throw new ConfigError('the daemon answered without a status');

  checkSocketOwner(socketPath);
  checkBrokerDaemon(status.pid);
  try {
    process.kill(status.pid, 'SIGHUP');
  } catch (error) {
    throw new ConfigError(
      `cannot send SIGHUP to the broker daemon (pid ${status.pid}): ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}; run reload as the user who runs the daemon`,
    );
  }
  print(
    `sent SIGHUP to the broker daemon (pid ${status.pid}) on '${socketPath}': it reloads '${printable(status.config, 300)}' and the keys it names; a config that fails to load changes nothing and is logged in the daemon's log; listeners and auditLog changes need a restart (stop, then daemon --detach)\n`,
  );
}
