/**
 * Starts the daemon in the background (`daemon --detach`, autostart) and
 * waits until it answers. Many launchers may race; the daemon's socket lock
 * lets exactly one daemon win, and every launcher waits for that one.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendRequest } from '../shared/daemon-client.js';
import { openDaemonLog } from './daemon-log-file.js';
import { itsLog } from '../shared/daemon-log-path.js';
import { ConfigError, DaemonUnreachableError } from '../shared/errors.js';
import { PROTOCOL_VERSION } from '../shared/protocol.js';
import {
  DAEMON_LOG_ENV,
  describeUntil,
  stoppingDaemon,
  type StoppingDaemon,
} from '../shared/socket-lock-state.js';

/** How long a launcher waits for some daemon to answer. */
export const LAUNCH_TIMEOUT_MS = 10_000;

/**
 * The longest a launcher waits for a daemon that is stopping on its socket
 * to let go of it: git, and whoever waits on git, waits as long. A shutdown
 * usually lets go far sooner than its deadline (the lock goes once the
 * requests in flight are answered); past this, the reason is worth more
 * than a longer wait.
 */
export const STOPPING_WAIT_MAX_MS = 30_000;

/** Beyond a stopping daemon's own deadline: for its process to let go once its time is up. */
const STOPPING_GRACE_MS = 2_000;

export interface LaunchOptions {
  configPath: string;
  socketPath: string;
  /** The socket to wait for, when it is one of the config's listeners. */
  waitForSocket?: string;
  logPath: string;
  env: NodeJS.ProcessEnv;
}

/**
 * The pid the daemon answering ping on `socketPath` reports (null from a
 * daemon of an older release, which does not say); undefined when none
 * answers.
 */
async function answeringPid(
  socketPath: string,
  timeoutMs: number,
): Promise<number | null | undefined> {
  try {
    const reply = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'ping' }, timeoutMs);
    if (!reply.ok) return undefined;
    return typeof reply.pid === 'number' ? reply.pid : null;
  } catch {
    return undefined;
  }
}

/** Which daemon answered once a launch was done. */
export interface Launched {
  /** The daemon this launcher spawned, while it still runs. */
  childPid: number | undefined;
  /**
   * The daemon that answers, as its ping says: this launcher's, or the one
   * that won the socket's lock when many started at once (null when it
   * does not say, a daemon of an older release).
   */
  servingPid: number | null;
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

/**
 * Waits while a daemon that is shutting down holds `socketPath` (its
 * socket file already gone, its lock not yet), so that a fresh one can
 * take it: what a restart looks like to git. Throws, with the pid and what
 * to do, when it does not let go within its own deadline (or
 * STOPPING_WAIT_MAX_MS). Never two daemons on one socket: the new one is
 * started only once the lock is free, and the lock decides between
 * starters as ever.
 */
export async function waitForStoppingDaemon(
  socketPath: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const first = await stoppingOn(socketPath);
  if (first === undefined) return;
  const startedMs = Date.now();
  const deadlineMs = Math.min(first.untilMs + STOPPING_GRACE_MS, startedMs + STOPPING_WAIT_MAX_MS);
  let holder: typeof first | undefined = first;
  while (holder !== undefined && Date.now() < deadlineMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    holder = await stoppingOn(socketPath);
  }
  if (holder === undefined) return;

  const waited = `${((Date.now() - startedMs) / 1000).toFixed(1)} s`;
  const stopping = `the broker daemon (pid ${holder.pid}) on '${socketPath}' is shutting down`;
  // Past its own deadline it is stuck, not slow.
  throw new DaemonUnreachableError(
    Date.now() >= holder.untilMs + STOPPING_GRACE_MS
      ? `${stopping} and still holds the socket past the end of its shutdown time (due by ${describeUntil(holder.untilMs)}); waited ${waited}. It may hang: see ${itsLog(env, socketPath)}, and end it (kill -TERM ${holder.pid}; kill -KILL ${holder.pid} if that does not) before running git again`
      : `${stopping}: it is finishing the requests in flight first (by ${describeUntil(holder.untilMs)} at the latest), and a new daemon starts once it lets go; waited ${waited}. Run git again then, or see ${itsLog(env, socketPath)}`,
  );
}

/**
 * The daemon stopping on `socketPath`, as its lock says (this user's), or
 * else as its socket answers (any user that can reach it: a sandbox cannot
 * read the lock of the listener it uses).
 */
async function stoppingOn(socketPath: string): Promise<StoppingDaemon | undefined> {
  const locked = stoppingDaemon(socketPath);
  if (locked !== undefined) return locked;
  try {
    const reply = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'ping' }, 1000);
    return reply.ok ? undefined : reply.error.stopping;
  } catch {
    return undefined;
  }
}

/**
 * Spawns a detached daemon and resolves once a daemon answers: its own, or
 * a peer's that took the socket first.
 */
export async function launchDaemon(options: LaunchOptions): Promise<Launched> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  // The bundled helper answers git alone, but the daemon is the package's.
  if (!existsSync(main)) {
    throw new DaemonUnreachableError(
      `cannot start the broker daemon: '${main}' is missing; run git-credential-broker from its installed package (reinstall it), not a copy of the helper file`,
    );
  }
  for (const socket of new Set([options.socketPath, options.waitForSocket ?? options.socketPath])) {
    await waitForStoppingDaemon(socket, options.env);
  }
  const logFd = openDaemonLog(options.logPath);
  const child = spawn(
    process.execPath,
    [main, 'daemon', '--config', options.configPath, '--socket', options.socketPath],
    {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...options.env, [DAEMON_LOG_ENV]: resolve(options.logPath) },
    },
  );
  closeSync(logFd);
  child.unref();
  let exitCode: number | null = null;
  child.once('exit', (code) => (exitCode = code));

  const deadline = Date.now() + LAUNCH_TIMEOUT_MS;
  let exitedAlone = false;
  while (Date.now() < deadline) {
    const servingPid = await answeringPid(options.waitForSocket ?? options.socketPath, 500);
    if (servingPid !== undefined) {
      return { childPid: exitCode === null ? child.pid : undefined, servingPid };
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
  const stoppingThere = /another broker daemon \(pid \d+\) is stopping on/.test(last);
  // Another daemon with a socket of this config: likely the one git should
  // use, which this environment names another socket for. Not one that is
  // stopping: that is a restart to wait out, not a config to change.
  const elsewhere =
    /another broker daemon/.test(last) && !stoppingThere
      ? '; if that daemon is the one to use, give git its socket (configure --socket PATH, or GIT_CREDENTIAL_BROKER_SOCKET)'
      : '';
  const message = `the broker daemon did not start on '${options.socketPath}'${last === '' ? '' : `: ${last}`}${elsewhere}; see '${options.logPath}'`;
  // A daemon that exits while starting failed on its setup (config, key,
  // socket directory, audit log): asking another helper or the user cannot
  // fix that, so git is told to stop (quit=1), as for any config problem.
  // One still starting after the timeout may yet come up: not final.
  // A daemon that began stopping after the wait above: no config problem.
  throw exitedAlone && !stoppingThere
    ? new ConfigError(message)
    : new DaemonUnreachableError(message);
}
