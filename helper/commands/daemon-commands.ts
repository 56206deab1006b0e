/**
 * `daemon`, `stop` and `status`: run, stop and inspect the daemon.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { configSha256 } from '../../shared/config-digest.js';
import { sendRequest } from '../../shared/daemon-client.js';
import {
  ConfigError,
  DaemonUnreachableError,
  toBrokerError,
  VersionMismatchError,
} from '../../shared/errors.js';
import { printable, shellQuote, terminalJson } from '../../shared/printable.js';
import { defaultDaemonLogPath, resolveSocketPath } from '../../shared/paths.js';
import { MAX_CONFIG_BYTES, readProblem, readRegularFileSync } from '../../shared/regular-file.js';
import {
  PROTOCOL_VERSION,
  STOP_MARGIN_MS,
  STOP_WAIT_MS,
  stopWaitMs,
  type DaemonStatus,
} from '../../shared/protocol.js';
import { describeUntil } from '../../shared/socket-lock-state.js';
import { stoppingError } from '../../shared/stopping-reply.js';
import { VERSION } from '../../shared/version.js';
import { askDaemon, unwrapReply } from '../ask-daemon.js';
import { launchDaemon } from '../daemon-launcher.js';
import { formatStatus } from './format-status.js';
import { otherRelease } from './other-release.js';
import { isDaemonStatus, isRecord, statusShapeProblem } from './status-shape.js';
import { checkBrokerDaemon, socketHolder } from './socket-holder.js';
import { describeWindingDown, startAgain, windingDown, windingJson } from './winding-down.js';

export async function runDaemonCommand(options: {
  configPath: string;
  socketPath: string;
  detach: boolean;
  print: (text: string) => void;
}): Promise<void> {
  if (!options.detach) {
    const { runDaemon } = await import('../../daemon/main.js');
    await runDaemon({
      configPath: options.configPath,
      socketPath: options.socketPath,
      env: process.env,
    });
    return;
  }
  if (await alreadyRunning(options.configPath, options.socketPath, options.print)) return;
  const logPath = defaultDaemonLogPath(process.env);
  const logStart = statSync(logPath, { throwIfNoEntry: false })?.size ?? 0;
  const pid = await launchDaemon({ ...options, logPath, env: process.env });
  options.print(
    `daemon started (pid ${pid ?? 'unknown'}) on ${options.socketPath}; its log: ${logPath}\n`,
  );
  for (const warning of startupWarnings(logPath, logStart, pid)) {
    options.print(`warning: ${warning}\n`);
  }
}

/**
 * True when a broker daemon of this release already serves `socketPath`
 * with this config, as the file reads now: --detach then has nothing to do,
 * so a startup script may run it twice. Anything else on the path is
 * refused with what it is, and a daemon that differs with each way it
 * differs and the fix for it.
 */
async function alreadyRunning(
  configPath: string,
  socketPath: string,
  print: (text: string) => void,
): Promise<boolean> {
  const holder = await socketHolder(socketPath);
  const stop = `git-credential-broker stop --socket ${shellQuote(socketPath)}`;
  switch (holder.kind) {
    case 'nothing':
      return false;
    case 'stopping':
      // launchDaemon waits for it to let go of the socket.
      print(
        `a broker daemon (pid ${holder.pid}) is stopping on '${socketPath}'; waiting for it to let go (by ${describeUntil(holder.untilMs)} at the latest) to start a new one\n`,
      );
      return false;
    case 'other':
      throw new ConfigError(`${printable(holder.reason, 600)}; nothing was started`);
    case 'other-release':
      // Same version, other answers: a build of its own, or no broker.
      throw new ConfigError(
        holder.version === VERSION
          ? `'${socketPath}' answers as a broker daemon of version ${VERSION}, as this command, but not as this release does (${printable(holder.reason, 400)}); nothing was started: stop what listens there, or choose another path with --socket`
          : `a broker daemon of another release (${holder.version === undefined ? 'its version unknown' : `version ${holder.version}`}; this is version ${VERSION}) is running on '${socketPath}': ${printable(holder.reason, 400)}; nothing was started: stop it first (${stop}), then start this release`,
      );
    case 'restricted':
      throw new ConfigError(
        `'${socketPath}' is a listener of a running broker daemon, with a client policy (${printable(holder.refusal, 300)}); nothing was started: give --detach the daemon's own socket`,
      );
  }
  const { status } = holder;
  const running = `a broker daemon (pid ${status.pid}, version ${printable(status.version, 40)}) is already running on '${socketPath}' with config '${printable(status.config, 300)}'`;
  const differences = differencesFrom(status, resolve(configPath));
  if (differences.length > 0) {
    // Only the file's content differs: reload applies it in place.
    const fix = differences.every((difference) => difference.reloadFixes)
      ? `run git-credential-broker reload --socket ${shellQuote(socketPath)} to apply it (listeners and auditLog changes need a restart: ${stop}, then start it again)`
      : `stop it first (${stop}), then start this one, or leave it running`;
    throw new ConfigError(
      `${running}, but ${differences.map(({ what }) => what).join(', and ')}; nothing was started: ${fix}`,
    );
  }
  try {
    // The answers above are the holder's word: a fake daemon could give them.
    checkBrokerDaemon(status.pid);
  } catch (error) {
    throw new ConfigError(
      `'${socketPath}' answers as a broker daemon, but ${(error as Error).message.replace(/^the daemon /, 'it ')}; nothing was started`,
    );
  }
  print(`${running}; nothing to start\n`);
  return true;
}

/**
 * How the running daemon differs from the one --detach would start: its
 * config file, that file's content since the daemon read it, its release.
 * Found in review: only the path was compared, so a daemon serving a
 * config since edited, or of an older release, counted as "the same".
 */
function differencesFrom(
  status: DaemonStatus,
  configPath: string,
): { what: string; reloadFixes: boolean }[] {
  const differences: { what: string; reloadFixes: boolean }[] = [];
  if (!samePath(configPath, status.config)) {
    differences.push({ what: `this command was given '${configPath}'`, reloadFixes: false });
  } else if (status.configSha256 !== undefined) {
    let now: string | undefined;
    try {
      now = configSha256(readRegularFileSync(configPath, MAX_CONFIG_BYTES));
    } catch (error) {
      differences.push({
        what: `'${configPath}' cannot be read here to compare (it ${readProblem(error)})`,
        reloadFixes: false,
      });
    }
    if (now !== undefined && now !== status.configSha256) {
      differences.push({
        what: `'${configPath}' has changed since the daemon loaded it`,
        reloadFixes: true,
      });
    }
  }
  if (status.version !== VERSION) {
    differences.push({ what: `this command is version ${VERSION}`, reloadFixes: false });
  }
  // Found in review: after a reload that changed listeners or auditLog the
  // daemon's configSha256 is the file's, yet it still runs the old ones,
  // and --detach said there was nothing to start.
  const pending = changesAwaitingRestart(status);
  if (pending.length > 0) {
    differences.push({
      what: `changes its last reload took in need a restart (${pending.map((what) => printable(what, 300)).join('; ')})`,
      reloadFixes: false,
    });
  }
  return differences;
}

/**
 * Whether two paths name one file: a symbolic link to the daemon's config
 * is that config (found in review: it was called a different one).
 */
function samePath(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * What the config in use changed that the daemon applies only on restart:
 * said by its last reload that took (a refused one after it changed
 * nothing). Each reload compares with the config the daemon started with,
 * so the last one that took tells the whole.
 */
function changesAwaitingRestart(status: DaemonStatus): string[] {
  const reloads = status.recentReloads ?? (status.lastReload ? [status.lastReload] : []);
  const lastTaken = reloads.filter((outcome) => outcome.ok).at(-1);
  return lastTaken?.needsRestart ?? [];
}

/**
 * What the new daemon warned about while starting (a key file others can
 * read, say): shown to whoever ran --detach, not only left in the log.
 */
function startupWarnings(logPath: string, from: number, pid: number | undefined): string[] {
  let text: string;
  try {
    text = readFileSync(logPath).subarray(from).toString('utf8');
  } catch {
    return [];
  }
  const warnings: string[] = [];
  for (const line of text.split('\n')) {
    try {
      const record = JSON.parse(line) as { level?: unknown; pid?: unknown; msg?: unknown };
      if (typeof record.level === 'number' && record.level >= 40 && record.pid === pid) {
        warnings.push(printable(String(record.msg), 500));
      }
    } catch {
      // Not a log record (a crash trace, say): the log has it.
    }
  }
  return warnings;
}

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
      const winding = windingDown(socketPath, error);
      if (winding === undefined) {
        print(`no broker daemon was running on '${socketPath}'\n`);
        return;
      }
      checkBrokerDaemon(winding.pid);
      print(`${describeWindingDown(socketPath, winding)}; waiting for it to exit\n`);
      const waitMs = winding.untilMs - Date.now() + STOP_MARGIN_MS;
      return waitForExit(socketPath, winding.pid, waitMs, print);
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

/**
 * Whether the process still runs. A zombie (exited, not yet reaped by its
 * parent or init) does not: a container whose init never reaps would have
 * had `stop` wait its 30 s and call a stopped daemon still running (found
 * while speeding up the tests; this VM's init reaps every ~1.5 s).
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // Elsewhere (macOS, BSD) there is no /proc: signal 0 is all there is.
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which may hold spaces and ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (error) {
    // Gone since the signal, unless /proc is not mounted at all (found in
    // review: a missing /proc read as "gone" for every process).
    return (error as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync('/proc/self');
  }
}

/**
 * `status`: with --json, a JSON object on stdout whatever happens, so a
 * script always has one to read: `running` says whether a daemon answered,
 * `versionMismatch` whether it is of another release than this command
 * (`helperVersion`), and `error` why there is no status.
 */
export async function showStatus(
  socketFlag: string | undefined,
  json: boolean,
  print: (text: string) => void,
): Promise<void> {
  let socketPath: string | undefined;
  let answered = false;
  /** The version a status of the wrong shape gave, if any. */
  let statusVersion: unknown;
  try {
    socketPath = resolveSocketPath(process.env, socketFlag);
    const reply = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' });
    // A daemon that answers only that it is stopping serves no longer.
    answered = stoppingError(reply) === undefined;
    const status: unknown = unwrapReply(reply, 'status').status;
    // Another release answers status in another shape: say so, with the
    // fix, rather than print half of it or fail on a field it lacks.
    if (!isDaemonStatus(status)) {
      statusVersion = isRecord(status) ? status.version : undefined;
      throw new VersionMismatchError(
        `its status is not one this release reads (${statusShapeProblem(status)}); restart the daemon after upgrading (git-credential-broker stop, then start it again)`,
      );
    }
    const ours = {
      running: true,
      versionMismatch: status.version !== VERSION,
      helperVersion: VERSION,
    };
    // First in the object, and not something the daemon's answer can change.
    const report = { ...ours, ...status, ...ours };
    print(json ? `${terminalJson(report)}\n` : formatStatus(status));
  } catch (error) {
    let failure = toBrokerError(error, 'helper');
    let release:
      { versionMismatch: true; version: string | null; helperVersion: string } | undefined;
    if (failure instanceof VersionMismatchError && socketPath !== undefined) {
      const other = await otherRelease(socketPath, failure, statusVersion);
      failure = other.error;
      release = { versionMismatch: true, version: other.version, helperVersion: VERSION };
    }
    // No socket, but a daemon shutting down still holds its lock: neither
    // "not running" nor a stale socket.
    const stopping = socketPath === undefined ? undefined : windingDown(socketPath, failure);
    if (stopping !== undefined) {
      failure = new DaemonUnreachableError(
        `${describeWindingDown(socketPath!, stopping)}; ${startAgain(socketPath!, stopping)}`,
        { noDaemon: true },
      );
    }
    if (json) {
      const report = {
        running: answered || release !== undefined,
        ...(stopping === undefined ? {} : windingJson(stopping)),
        ...release,
        socket: socketPath ?? socketFlag ?? null,
        error: printable(failure.message, 2000),
        code: failure.code,
      };
      print(`${terminalJson(report)}\n`);
    }
    throw release === undefined && stopping === undefined ? error : failure;
  }
}
