/**
 * `reload`: sends SIGHUP to the daemon on a socket, which reloads its config
 * file and keys (daemon/config-reload.ts). The pid comes from `status`, so
 * only the daemon's unrestricted socket can be used (a listener with a
 * client policy refuses status), and it is checked to be a broker daemon of
 * this user before any signal is sent: a daemon in another pid namespace (a
 * container sharing its socket) reports a pid that means another process here.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { askDaemon } from '../ask-daemon.js';

/** The names the broker runs under: the bundle, its npm link, the ES module build. */
const BROKER_SCRIPT = /^(?:git-credential-broker(?:\.cjs)?|main\.js)$/;

/**
 * Refuses unless `pid` is, as far as this system can tell, a broker daemon
 * run by this user. Where there is no /proc, the signal's own permission
 * check (EPERM for another user's process) is what remains.
 */
export function checkBrokerDaemon(pid: number, procRoot = '/proc'): void {
  if (statSync(procRoot, { throwIfNoEntry: false }) === undefined) return;
  const where = `${procRoot}/${pid}`;
  const stats = statSync(where, { throwIfNoEntry: false });
  if (stats === undefined) {
    throw new ConfigError(
      `the daemon reports pid ${pid}, and no such process runs here (it runs in another pid namespace, a container say); send SIGHUP where it runs`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new ConfigError(
      `the daemon's pid ${pid} is a process of another user (uid ${stats.uid}); only the user who runs the daemon can reload it`,
    );
  }
  let words: string[] = [];
  try {
    words = readFileSync(`${where}/cmdline`, 'utf8').split('\0');
  } catch {
    // Unreadable: judged as not a broker daemon below.
  }
  const script = words.findIndex((word, i) => i > 0 && BROKER_SCRIPT.test(basename(word)));
  if (script === -1 || !words.slice(script + 1).includes('daemon')) {
    throw new ConfigError(
      `the daemon reports pid ${pid}, but that process here is not a broker daemon (it runs in another pid namespace, a container say); send SIGHUP where it runs`,
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
