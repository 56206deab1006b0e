/**
 * `stop`: asks the daemon to shut down and returns once its process is gone.
 */
import { DaemonUnreachableError, ConfigError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import {
  PROTOCOL_VERSION,
  STOP_MARGIN_MS,
  STOP_WAIT_MS,
  stopWaitMs,
} from '../../shared/protocol.js';
import { stoppingDaemon } from '../../shared/socket-lock-state.js';
import { askDaemon } from '../ask-daemon.js';
import { processExists } from '../process-exists.js';
import { checkBrokerDaemon } from './socket-holder.js';

/**
 * The pid of the daemon on `socketPath`, checked to be a broker daemon of
 * this installation, or why there is none. Ping carries it (small, served
 * on every socket); a daemon of an older release answers only in its status.
 */
async function daemonPid(
  socketPath: string,
): Promise<{ pid?: number; waitMs: number; why?: string }> {
  let waitMs = STOP_WAIT_MS;
  try {
    const ping = await askDaemon(socketPath, { v: PROTOCOL_VERSION, op: 'ping' });
    // What this daemon's shutdown may take, as its config says now.
    waitMs = stopWaitMs(ping.shutdownTimeoutMs);
    let pid = ping.pid;
    pid ??= (await askDaemon(socketPath, { v: PROTOCOL_VERSION, op: 'status' })).status?.pid;
    checkBrokerDaemon(pid);
    return { pid, waitMs };
  } catch (error) {
    return { waitMs, why: (error as Error).message };
  }
}

export async function stopDaemon(socketPath: string, print: (text: string) => void): Promise<void> {
  // The pid, to wait for the process itself: the daemon stops answering on
  // its socket first and exits only once its requests are answered, and a
  // new daemon cannot start until then (found in review: stop, then
  // daemon --detach, failed). Only a daemon of this installation and user.
  const { pid, waitMs, why } = await daemonPid(socketPath);
  try {
    await askDaemon(socketPath, { v: PROTOCOL_VERSION, op: 'stop' });
  } catch (error) {
    // What a stop script wants is no daemon: that is already so, or will
    // be once the one stopping there has exited.
    if (error instanceof DaemonUnreachableError && error.noDaemon) {
      const stopping = stoppingDaemon(socketPath);
      if (stopping === undefined) {
        print(`no broker daemon was running on '${socketPath}'\n`);
        return;
      }
      checkBrokerDaemon(stopping.pid);
      print(`the broker daemon on ${socketPath} (pid ${stopping.pid}) was already stopping\n`);
      return waitForExit(
        socketPath,
        stopping.pid,
        stopping.untilMs - Date.now() + STOP_MARGIN_MS,
        print,
      );
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
  await waitForExit(socketPath, pid, waitMs, print);
}

async function waitForExit(
  socketPath: string,
  pid: number,
  waitMs: number,
  print: (text: string) => void,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && processExists(pid)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (processExists(pid)) {
    throw new ConfigError(
      `the daemon on '${socketPath}' (pid ${pid}) was asked to stop and is still running after ${Math.round(waitMs / 1000)} s; its log says what it is waiting for`,
    );
  }
  print(`daemon on ${socketPath} stopped\n`);
}
