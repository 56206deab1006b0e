/**
 * `reload`: sends SIGHUP to the daemon on a socket, which reloads its config
 * file and keys (daemon/config-reload.ts). The pid comes from `status`, so
 * only the daemon's unrestricted socket can be used (a listener with a
 * client policy refuses status), and it is checked to be a broker daemon of
 * this user before any signal is sent: a daemon in another pid namespace (a
 * container sharing its socket) reports a pid that means another process here.
 */
import { readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { askDaemon } from '../ask-daemon.js';

/**
 * This installation's entry points with symlinks resolved: the bundle (what
 * `npm link` points at) and the ES module build that autostart runs.
 */
function installedScripts(): Set<string> {
  const scripts = new Set<string>();
  for (const relative of ['../git-credential-broker.cjs', '../main.js']) {
    try {
      scripts.add(realpathSync(fileURLToPath(new URL(relative, import.meta.url))));
    } catch {
      // Not built here (tests run the sources): nothing matches it.
    }
  }
  return scripts;
}

/**
 * Refuses unless `pid` is, as far as this system can tell, a daemon of this
 * installation run by this user: its command line must run one of this
 * installation's scripts with the daemon command (found in review: any
 * process whose arguments merely held "main.js" and "daemon" passed, and a
 * fake daemon on a socket could have it signalled). Where there is no
 * /proc, the signal's own permission check is what remains.
 */
export function checkBrokerDaemon(pid: unknown, procRoot = '/proc'): asserts pid is number {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 1) {
    throw new ConfigError(
      'the daemon reported a pid that is not a process id; is a broker daemon on that socket?',
    );
  }
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
  let runs = false;
  try {
    const words = readFileSync(`${where}/cmdline`, 'utf8').split('\0');
    // The script is node's first argument that is not an option.
    const at = words.findIndex((word, i) => i > 0 && !word.startsWith('-'));
    const script = realpathSync(resolve(readlinkSync(`${where}/cwd`), words[at] ?? ''));
    runs = installedScripts().has(script) && words.slice(at + 1).includes('daemon');
  } catch {
    // Unreadable, or a script that is gone: not a daemon of this installation.
  }
  if (!runs) {
    throw new ConfigError(
      `the daemon reports pid ${pid}, but that process here is not a broker daemon of this installation (it may run in another pid namespace, a container say); send SIGHUP where it runs`,
    );
  }
}

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
