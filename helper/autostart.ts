/**
 * Autostart: when the config says `"autostart": true` and no daemon answers,
 * the helper starts one and retries. Loaded only on that failure path, so a
 * running daemon costs git nothing extra.
 */
import { lstatSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { resolveConfigPath, resolveSocketPath, SOCKET_ENV } from '../shared/paths.js';
import { defaultDaemonLogPath } from '../shared/daemon-log-path.js';
import { MAX_CONFIG_BYTES, readRegularFileSync } from '../shared/regular-file.js';
import { launchDaemon } from './daemon-launcher.js';

interface AutostartConfig {
  autostart?: unknown;
  listeners?: unknown;
}

function readConfig(configPath: string): AutostartConfig | undefined {
  try {
    return JSON.parse(
      readRegularFileSync(configPath, MAX_CONFIG_BYTES).toString('utf8'),
    ) as AutostartConfig;
  } catch {
    // No readable config: the daemon could not start anyway.
    return undefined;
  }
}

/** True when the config lists `socketPath` among its extra listeners. */
function isListener(config: AutostartConfig, configPath: string, socketPath: string): boolean {
  if (!Array.isArray(config.listeners)) return false;
  return config.listeners.some(
    (listener: { socket?: unknown }) =>
      typeof listener?.socket === 'string' &&
      resolve(dirname(configPath), listener.socket) === resolve(socketPath),
  );
}

/**
 * Whether a daemon this user starts could be the one on `socketPath`: the
 * socket there is this user's, or none is there and its directory, if any,
 * is this user's (a daemon listens only in a directory of its user's,
 * socket-file.ts; one started on another user's directory failed git with
 * quit=1 instead of the advice to ask that user). A
 * sandbox of another uid on the operator's listener, whose environment
 * named a config of its own with autostart on, started a daemon of its
 * own during the operator's restart, which failed on the listener and
 * failed git with quit=1 (found in review): it is to wait for the
 * operator's daemon instead (restart-wait.ts).
 */
function startableHere(socketPath: string): boolean {
  const uid = process.geteuid?.();
  if (uid === undefined) return true;
  try {
    const socket = lstatSync(socketPath, { throwIfNoEntry: false });
    if (socket !== undefined) return socket.uid === uid;
    const directory = statSync(dirname(socketPath), { throwIfNoEntry: false });
    return directory === undefined || directory.uid === uid;
  } catch {
    // Out of this user's sight: not a socket this user's daemon takes.
    return false;
  }
}

/** Starts a daemon if the config allows it; resolves whether one now answers. */
export async function autostartDaemon(
  socketPath: string,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  const configPath = resolveConfigPath(env);
  const config = readConfig(configPath);
  if (config?.autostart !== true) return false;
  const listener = isListener(config, configPath, socketPath);
  if (!startableHere(socketPath)) return false;

  // A sandbox asking on its restricted listener starts the daemon on the
  // operator's default socket (which opens the listeners too), so the
  // operator can still reach, inspect and stop it.
  // The operator's socket: $GIT_CREDENTIAL_BROKER_SOCKET, unless that names
  // the listener itself (a sandbox's environment), then the default path.
  let daemonSocket = socketPath;
  if (listener) {
    const fromEnv = resolveSocketPath(env);
    daemonSocket =
      resolve(fromEnv) === resolve(socketPath)
        ? resolveSocketPath({ ...env, [SOCKET_ENV]: undefined })
        : fromEnv;
  }
  await launchDaemon({
    configPath,
    socketPath: daemonSocket,
    waitForSocket: socketPath,
    logPath: defaultDaemonLogPath(env, daemonSocket),
    env,
  });
  return true;
}
