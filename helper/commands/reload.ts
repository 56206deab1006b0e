/**
 * `reload`: sends SIGHUP to the daemon on a socket, which reloads its config
 * file and keys (daemon/config-reload.ts), then polls ping (small) until the
 * reload has ended and reads its outcome from one status. The pid comes from `status`, so
 * only the daemon's unrestricted socket can be used (a listener with a
 * client policy refuses status), and it is checked to be a broker daemon of
 * this user before any signal is sent: a daemon in another pid namespace (a
 * container sharing its socket) reports a pid that means another process here.
 */
import { statSync } from 'node:fs';
import {
  BrokerError,
  ConfigError,
  DaemonUnreachableError,
  RequestDeniedError,
  VersionMismatchError,
} from '../../shared/errors.js';
import { CONTROL_REQUEST_TIMEOUT_MS } from '../../shared/daemon-client.js';
import { printable, shellQuote } from '../../shared/printable.js';
import {
  PROTOCOL_VERSION,
  RECENT_RELOADS,
  type DaemonStatus,
  type ReloadOutcome,
} from '../../shared/protocol.js';
import { askDaemon } from '../ask-daemon.js';
import { otherRelease } from './other-release.js';
import { checkBrokerDaemon } from './socket-holder.js';
import { cannotReload, windingDown } from './winding-down.js';
import { isDaemonStatus, isRecord, statusShapeProblem } from './status-shape.js';

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

/** How long `reload` waits for the daemon to say how the reload went. */
export const RELOAD_WAIT_MS = 10_000;
/** Less of the wait than this left: no request is sent that could not be answered in it. */
const MIN_POLL_MS = 100;

export async function reloadDaemon(
  socketPath: string,
  print: (text: string) => void,
): Promise<void> {
  const status = await daemonStatus(socketPath);
  checkSocketOwner(socketPath);
  checkBrokerDaemon(status.pid);
  // The daemon's clock is this machine's: a reload asked for from now on
  // is this one's (or one that read the config after this one's change).
  const sentAtMs = Date.now();
  try {
    process.kill(status.pid, 'SIGHUP');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ESRCH: it exited between its status and the signal; no user fixes that.
    const fix =
      code === 'ESRCH'
        ? `it has exited since it answered; start it again ('git-credential-broker daemon --detach --socket ${shellQuote(socketPath)}'), which reads the config anew`
        : 'run reload as the user who runs the daemon';
    throw new ConfigError(
      `cannot send SIGHUP to the broker daemon (pid ${status.pid}): ${code ?? 'unknown error'}; ${fix}`,
    );
  }
  const daemon = `the broker daemon (pid ${status.pid}) on '${printable(socketPath, 300)}'`;
  // Whatever goes wrong from here, the signal went out: the reload may
  // still end well, so say so and where to see how it went (found in
  // review: a timeout read as if nothing had been done).
  const sent = `sent SIGHUP to ${daemon}, so it reloads its config`;
  const check = `see how the reload went with 'git-credential-broker status' (last reload) or in the daemon's log`;
  // Found in a new-user trial: reload said it was sent and exited 0 when the
  // daemon refused the config, which only its log said.
  let outcome: ReloadOutcome | undefined;
  try {
    outcome = await reloadAfter(socketPath, sentAtMs);
  } catch (error) {
    if (!(error instanceof BrokerError)) throw error;
    throw new BrokerError(
      error.code,
      `${sent}, but then: ${error.message}; ${check}`,
      error.hint === undefined ? {} : { hint: error.hint },
    );
  }
  const config = `'${printable(status.config, 300)}'`;
  // Shown whatever else is said: the new config is in use with them.
  for (const warning of outcome?.warnings ?? []) print(`warning: ${printable(warning, 1000)}\n`);
  if (outcome === undefined) {
    throw new ConfigError(
      `${sent}, but it did not say within ${RELOAD_WAIT_MS / 1000} s how the reload went (a key or config read may still be under way); ${check}`,
    );
  }
  if (!outcome.ok) {
    throw new ConfigError(
      `${daemon} refused ${config} and still serves with the config it had: ${printable(outcome.error ?? 'no reason given', 1000)}`,
    );
  }
  if (outcome.needsRestart !== undefined) {
    throw new ConfigError(
      `${daemon} reloaded ${config}, but these changes take effect only on restart (stop, then daemon --detach): ${outcome.needsRestart.map((what) => printable(what, 400)).join('; ')}`,
    );
  }
  print(`${daemon} reloaded ${config} and the keys it names\n`);
}

async function daemonStatus(socketPath: string, timeoutMs?: number): Promise<DaemonStatus> {
  const request = { v: PROTOCOL_VERSION, op: 'status' } as const;
  const reply = await askDaemon(socketPath, request, { timeoutMs }).catch((error: unknown) => {
    // Found in a new-user trial: the refusal named 'status' alone, which
    // reload had not seemed to ask for.
    const winding = windingDown(socketPath, error);
    if (winding !== undefined) throw cannotReload(socketPath, winding);
    if (error instanceof BrokerError && error.code === 'DENIED') {
      throw new RequestDeniedError(
        `reload asks the daemon for its status (its pid, and how the reload went), and ${error.message}`,
      );
    }
    throw error;
  });
  // Its pid is signalled and its strings printed: a status of another
  // shape (another release's, or no broker's) is refused, not read.
  const status: unknown = reply.status;
  if (!isDaemonStatus(status)) {
    const version = isRecord(status) ? status.version : undefined;
    const { error } = await otherRelease(
      socketPath,
      new VersionMismatchError(
        `its status is not one this release reads (${statusShapeProblem(status)}); restart the daemon after upgrading (git-credential-broker stop, then start it again)`,
      ),
      version,
    );
    throw error;
  }
  return status;
}

/** The outcome of the first reload asked for at or after `sentAtMs`, once the daemon reports it. */
async function reloadAfter(
  socketPath: string,
  sentAtMs: number,
): Promise<ReloadOutcome | undefined> {
  const deadline = Date.now() + RELOAD_WAIT_MS;
  // Each request within what is left of the wait, so the wait is the
  // whole bound (found in review: each could take a client's 60 s).
  const left = (): number => Math.min(CONTROL_REQUEST_TIMEOUT_MS, deadline - Date.now());
  // A request cut short by the wait's end is the wait ending, not a
  // daemon that stopped answering.
  const withinWait = async <T>(ask: (timeoutMs: number) => Promise<T>): Promise<T | undefined> => {
    if (left() < MIN_POLL_MS) return undefined;
    try {
      return await ask(left());
    } catch (error) {
      if (error instanceof DaemonUnreachableError && left() <= 0) return undefined;
      throw error;
    }
  };
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Reloads end in the order asked: once the last one ended was asked
    // for at or after the signal, ours has ended, and one status says how.
    const ping = { v: PROTOCOL_VERSION, op: 'ping' } as const;
    const pong = await withinWait((timeoutMs) => askDaemon(socketPath, ping, { timeoutMs }));
    if (pong === undefined) break;
    // Its fields were checked on the way in (shared/reply-shape.ts).
    const { reloads } = pong;
    if (reloads !== undefined && !((reloads.lastRequestedAtMs ?? -Infinity) >= sentAtMs)) {
      continue;
    }
    // Without `reloads` (a daemon before them), status is polled as it was.
    const status = await withinWait((timeoutMs) => daemonStatus(socketPath, timeoutMs));
    if (status === undefined) break;
    const ours = reloadAskedSince(status.recentReloads, sentAtMs);
    if (ours !== undefined) return ours;
    if (reloads !== undefined) {
      throw new ConfigError(
        `the daemon on '${socketPath}' reloaded more than ${RECENT_RELOADS} times since this reload was asked for, and no longer lists its outcome; run reload again`,
      );
    }
  }
  return undefined;
}

/**
 * The first reload asked for at or after `sentAtMs`: the daemon runs them
 * one at a time in the order asked, so an earlier one still in flight when
 * the signal was sent ends first and is not taken for this one.
 */
export function reloadAskedSince(
  recent: ReloadOutcome[] | undefined,
  sentAtMs: number,
): ReloadOutcome | undefined {
  return recent?.find((outcome) => outcome.requestedAtMs >= sentAtMs);
}
