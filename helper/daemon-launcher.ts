/**
 * Starts the daemon in the background (`daemon --detach`, autostart) and
 * waits until it answers. Many launchers may race; the daemon's socket lock
 * lets exactly one daemon win, and every launcher waits for that one.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendRequest } from '../shared/daemon-client.js';
import { ConfigError, DaemonUnreachableError } from '../shared/errors.js';
import { PROTOCOL_VERSION } from '../shared/protocol.js';

/** How long a launcher waits for some daemon to answer. */
export const LAUNCH_TIMEOUT_MS = 10_000;

export interface LaunchOptions {
  configPath: string;
  socketPath: string;
  /** The socket to wait for, when it is one of the config's listeners. */
  waitForSocket?: string;
  logPath: string;
  env: NodeJS.ProcessEnv;
}

export async function daemonAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const reply = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'ping' }, timeoutMs);
    return reply.ok;
  } catch {
    return false;
  }
}

function tail(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    return lines.slice(-3).join('\n');
  } catch {
    return '';
  }
}

/**
 * Whether the daemon's last words say another broker daemon took the very
 * socket it was started for: a peer started at the same time, which will
 * answer there. Another daemon holding some other socket of the config (a
 * listener) is no race but a config that cannot start here: found in a
 * new-user trial, git waited the whole timeout and then was left to prompt.
 */
function lostRaceFor(log: string, options: LaunchOptions): boolean {
  const held =
    /another broker daemon (?:\(pid \d+\) holds|is already listening on|is starting on) '([^'\n]*)'/.exec(
      log,
    )?.[1];
  if (held === undefined) return false;
  return [options.socketPath, options.waitForSocket ?? options.socketPath].some(
    (path) => resolve(path) === resolve(held),
  );
}

/** Spawns a detached daemon and resolves with its pid once a daemon answers. */
export async function launchDaemon(options: LaunchOptions): Promise<number | undefined> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  // The bundled helper answers git alone, but the daemon is the package's.
  if (!existsSync(main)) {
    throw new DaemonUnreachableError(
      `cannot start the broker daemon: '${main}' is missing; run git-credential-broker from its installed package (reinstall it), not a copy of the helper file`,
    );
  }
  mkdirSync(dirname(options.logPath), { recursive: true, mode: 0o700 });
  const logFd = openSync(options.logPath, 'a', 0o600);
  const child = spawn(
    process.execPath,
    [main, 'daemon', '--config', options.configPath, '--socket', options.socketPath],
    { detached: true, stdio: ['ignore', logFd, logFd], env: options.env },
  );
  closeSync(logFd);
  child.unref();
  let exitCode: number | null = null;
  child.once('exit', (code) => (exitCode = code));

  const deadline = Date.now() + LAUNCH_TIMEOUT_MS;
  let exitedAlone = false;
  while (Date.now() < deadline) {
    if (await daemonAnswers(options.waitForSocket ?? options.socketPath, 500)) {
      return exitCode === null ? child.pid : undefined;
    }
    // Our daemon lost the race or failed; keep waiting only if a peer might win.
    if (exitCode !== null && !lostRaceFor(tail(options.logPath), options)) {
      exitedAlone = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const last = (tail(options.logPath).split('\n').at(-1) ?? '').replace(
    /^git-credential-broker: /,
    '',
  );
  // Another daemon with a socket of this config: likely the one git should
  // use, which this environment names another socket for.
  const elsewhere = /another broker daemon/.test(last)
    ? '; if that daemon is the one to use, give git its socket (configure --socket PATH, or GIT_CREDENTIAL_BROKER_SOCKET)'
    : '';
  const message = `the broker daemon did not start on '${options.socketPath}'${last === '' ? '' : `: ${last}`}${elsewhere}; see '${options.logPath}'`;
  // A daemon that exits while starting failed on its setup (config, key,
  // socket directory, audit log): asking another helper or the user cannot
  // fix that, so git is told to stop (quit=1), as for any config problem.
  // One still starting after the timeout may yet come up: not final.
  throw exitedAlone ? new ConfigError(message) : new DaemonUnreachableError(message);
}
