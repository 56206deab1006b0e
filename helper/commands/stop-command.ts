/**
 * `stop`: asks the daemon to shut down and returns once its process is gone.
 */
import { readFileSync, statSync } from 'node:fs';
import { CONTROL_REQUEST_TIMEOUT_MS } from '../../shared/daemon-client.js';
import { existingDaemonLog, itsLog } from '../../shared/daemon-log-path.js';
import { DaemonUnreachableError, ConfigError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import {
  MAX_SHUTDOWN_TIMEOUT_MS,
  MAX_STOP_WAIT_MS,
  PROTOCOL_VERSION,
  STOP_MARGIN_MS,
  STOP_WAIT_MS,
  stopWaitMs,
} from '../../shared/protocol.js';
import { describeUntil, lockOwnerPid } from '../../shared/socket-lock-state.js';
import { describeWindingDown, windingDown } from './winding-down.js';
import { askDaemon } from '../ask-daemon.js';
import { daemonLogRecords } from '../daemon-log-records.js';
import { processExists } from '../process-exists.js';
import { checkBrokerDaemon } from './socket-holder.js';

/** How long `stop` waits for the daemon's answers to ping and stop, together. */
const ANSWER_DEADLINE_MS = CONTROL_REQUEST_TIMEOUT_MS;

/**
 * The pid of the daemon on `socketPath`, checked to be a broker daemon of
 * this installation, or why there is none. Ping carries it (small, served
 * on every socket); a daemon of an older release answers only in its status.
 */
async function daemonPid(
  socketPath: string,
  leftMs: () => number,
): Promise<{ pid?: number; waitMs: number; cutOffMs?: number; why?: string; silent?: true }> {
  let waitMs = STOP_WAIT_MS;
  try {
    const ping = await askDaemon(
      socketPath,
      { v: PROTOCOL_VERSION, op: 'ping' },
      { timeoutMs: leftMs() },
    );
    // What this daemon's shutdown may take, as its config says now.
    waitMs = stopWaitMs(ping.shutdownTimeoutMs);
    let pid = ping.pid;
    pid ??= (
      await askDaemon(socketPath, { v: PROTOCOL_VERSION, op: 'status' }, { timeoutMs: leftMs() })
    ).status?.pid;
    checkBrokerDaemon(pid);
    // The daemon's own deadline for requests in flight, when it said what
    // its shutdown may take: stop's wait adds its margin to it.
    const { shutdownTimeoutMs } = ping;
    const known =
      typeof shutdownTimeoutMs === 'number' &&
      Number.isFinite(shutdownTimeoutMs) &&
      shutdownTimeoutMs > 0;
    return { pid, waitMs, ...(known ? { cutOffMs: waitMs - STOP_MARGIN_MS } : {}) };
  } catch (error) {
    const silent = error instanceof DaemonUnreachableError && !error.noDaemon && leftMs() <= 1;
    return { waitMs, why: (error as Error).message, ...(silent ? { silent } : {}) };
  }
}

/**
 * A socket that takes connections and never answers: a daemon that hangs,
 * is suspended, or another program. Said at once, with whom its lock
 * names: asking it to stop too would only wait as long again (found in a
 * trial: 10 s, ping's 5 and stop's 5, before a bare timeout).
 */
function silentSocket(socketPath: string): ConfigError {
  const waited = `${Math.round(ANSWER_DEADLINE_MS / 1000)} s`;
  const owner = lockOwnerPid(socketPath);
  let found = `no broker daemon holds its lock ('${socketPath}.lock'): another program listens there, or a daemon of an older release`;
  if (owner !== undefined) {
    try {
      checkBrokerDaemon(owner);
      found = processSuspended(owner)
        ? `its lock names pid ${owner}, a broker daemon of this installation that is suspended (SIGSTOP); resume it with kill -CONT ${owner}, then run stop again`
        : `its lock names pid ${owner}, a broker daemon of this installation that does not answer; see ${itsLog(process.env, socketPath)}, and end it with kill -TERM ${owner} (kill -KILL ${owner} if that does not)`;
    } catch (error) {
      found = `its lock names pid ${owner}, which is no broker daemon this command may act on (${(error as Error).message})`;
    }
  }
  return new ConfigError(
    `'${socketPath}' takes connections, but nothing answered there within ${waited}; nothing was asked to stop: ${found}`,
  );
}

/** Whether a process is stopped by a signal (Linux; false where /proc cannot tell). */
function processSuspended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  } catch {
    return false;
  }
}

export async function stopDaemon(socketPath: string, print: (text: string) => void): Promise<void> {
  // The pid, to wait for the process itself: the daemon stops answering on
  // its socket first and exits only once its requests are answered, and a
  // new daemon cannot start until then (found in review: stop, then
  // daemon --detach, failed). Only a daemon of this installation and user.
  // One deadline for the daemon's answers, ping and stop together.
  const deadlineMs = Date.now() + ANSWER_DEADLINE_MS;
  const leftMs = (): number => Math.max(1, deadlineMs - Date.now());
  const { pid, waitMs, cutOffMs, why, silent } = await daemonPid(socketPath, leftMs);
  if (silent) throw silentSocket(socketPath);
  // Where the shutdown says whether it cut requests off, read from here on.
  const log = existingDaemonLog(process.env, socketPath);
  const logStart = log === undefined ? 0 : (statSync(log, { throwIfNoEntry: false })?.size ?? 0);
  let inFlight: number | undefined;
  try {
    const reply = await askDaemon(
      socketPath,
      { v: PROTOCOL_VERSION, op: 'stop' },
      { timeoutMs: leftMs() },
    );
    inFlight = reply.inFlight;
  } catch (error) {
    // What a stop script wants is no daemon: that is already so, or will
    // be once the one stopping there has exited.
    if (error instanceof DaemonUnreachableError && error.noDaemon) {
      const winding = windingDown(socketPath, error);
      if (winding === undefined) {
        print(`no broker daemon was running on '${socketPath}'\n`);
        return;
      }
      checkBrokerDaemon(winding.pid);
      print(`${describeWindingDown(socketPath, winding)}; waiting for it to exit\n`);
      return waitForExit(socketPath, winding.pid, winding.untilMs, print);
    }
    throw error;
  }
  if (pid === undefined) {
    // A socket that no longer answers is no exited daemon: it may still be
    // finishing requests and revoking tokens (found in review: "stopped"
    // printed while the daemon still drained).
    throw new ConfigError(
      `the daemon on '${socketPath}' was asked to stop, but whether it has exited cannot be told: its pid is unknown (${printable(why ?? 'no pid', 300)}); check with ps before starting another`,
    );
  }
  if (inFlight !== undefined && inFlight > 0) {
    // The daemon's deadline, not stop's wait (found in review: "within 11
    // s" with shutdownTimeoutSeconds 6, and the request was cut off at 6 s).
    const deadline =
      cutOffMs === undefined
        ? 'any still unanswered when its shutdownTimeoutSeconds run out is cut off'
        : `any still unanswered after ${Math.round(cutOffMs / 1000)} s (its shutdownTimeoutSeconds) is cut off`;
    print(
      `the daemon on ${socketPath} (pid ${pid}) answers the ${plural(inFlight, 'request')} in flight first: ${deadline}\n`,
    );
  }
  await waitForExit(socketPath, pid, Date.now() + waitMs - STOP_MARGIN_MS, print);
  const cutOff = daemonLogRecords(log, logStart, pid)
    .map((record) => record.cutOff)
    .find((count) => typeof count === 'number');
  if (typeof cutOff === 'number' && cutOff > 0) {
    print(
      `its shutdown ran out of time and cut off ${plural(cutOff, 'request')} in flight: each of their clients got an error (git may have asked another helper, or failed); see '${log}'\n`,
    );
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * Waits for `pid` to exit: until its shutdown's deadline `untilMs` plus
 * STOP_MARGIN_MS, never longer than MAX_STOP_WAIT_MS (the deadline is a
 * number from the daemon's reply), and not at all when that is past.
 */
async function waitForExit(
  socketPath: string,
  pid: number,
  untilMs: number,
  print: (text: string) => void,
): Promise<void> {
  const startedMs = Date.now();
  // No config gives a shutdown that long: a reply that says so is not waited on.
  if (untilMs + STOP_MARGIN_MS > startedMs + MAX_STOP_WAIT_MS) {
    throw stillRunning(socketPath, pid, untilMs, 0);
  }
  const deadline = untilMs + STOP_MARGIN_MS;
  while (Date.now() < deadline && processExists(pid)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (processExists(pid)) throw stillRunning(socketPath, pid, untilMs, Date.now() - startedMs);
  print(`daemon on ${socketPath} stopped\n`);
}

/** A daemon that was asked to stop and has not exited: how long, and what to do. */
function stillRunning(
  socketPath: string,
  pid: number,
  untilMs: number,
  waitedMs: number,
): ConfigError {
  const asked = `the daemon on '${socketPath}' (pid ${pid}) was asked to stop`;
  const waited = `waited ${Math.round(waitedMs / 1000)} s`;
  if (Date.now() < untilMs) {
    // Past 8.64e15 ms a Date is invalid: no time to name.
    const by = untilMs <= 8.64e15 ? ` by ${describeUntil(untilMs)}` : '';
    return new ConfigError(
      `${asked} and is still running: it says its shutdown ends${by}, later than the ${MAX_SHUTDOWN_TIMEOUT_MS / 1000} s any config allows, so stop did not wait for it; see ${itsLog(process.env, socketPath)}, and end it with kill -TERM ${pid} (kill -KILL ${pid} if that does not)`,
    );
  }
  const what = processSuspended(pid)
    ? `it is suspended (SIGSTOP): resume it with kill -CONT ${pid} to let it finish, or end it with kill -TERM ${pid}`
    : `it may hang: see ${itsLog(process.env, socketPath)}, and end it with kill -TERM ${pid} (kill -KILL ${pid} if that does not)`;
  return new ConfigError(
    `${asked} and is still running past the end of its shutdown time (due by ${describeUntil(untilMs)}; ${waited}); ${what}`,
  );
}
