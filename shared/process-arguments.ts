/**
 * What a process runs, from /proc (Linux): lets the helper check that a pid
 * a socket reports is a broker daemon, and the daemon that a pid in an old
 * lock may still be one.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

/** The process's arguments (argv[0] first), or undefined where they cannot be read. */
export function processArguments(pid: number, procRoot = '/proc'): string[] | undefined {
  try {
    const text = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8');
    // An empty cmdline is a kernel thread or a zombie: nothing to go by.
    return text === '' ? undefined : text.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * False only when the process is known to be no broker daemon: on Linux,
 * its executable is readable and is not node. The executable, not argv[0]:
 * a node process may retitle itself (tap's runner shows as "tap"). A pid in a lock left by a daemon before a reboot may
 * now be any process (found in review: a lock naming a reused pid was
 * taken for a live daemon). Loose on purpose: taking for dead a daemon that
 * lives would let a second one take its socket, so anything unclear (no
 * /proc, another user's process) counts as a daemon. The helper's stricter
 * check (socket-holder.ts) also wants this installation's script, which a
 * daemon of another installation or a test running the sources would fail.
 */
export function mayBeBrokerDaemon(pid: number, procRoot = '/proc'): boolean {
  if (process.platform !== 'linux') return true;
  let executable: string;
  try {
    // " (deleted)" once the binary was replaced, by an upgrade say.
    executable = readlinkSync(`${procRoot}/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return true;
  }
  // TODO: also want the daemon command, once the lock tests stand their
  // live owners up as daemons (they use node processes that are not).
  return /node/i.test(basename(executable));
}
