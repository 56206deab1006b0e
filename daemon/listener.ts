/**
 * Starts one socket server per listener: the --socket one and every socket
 * in the config's `listeners`, each claimed the same way (private directory,
 * one daemon per socket, stale socket removed) and each with its policy.
 */
import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from 'pino';
import type { StatusListener } from '../shared/protocol.js';
import type { ClientPolicy } from './client-policy.js';
import type { CredentialService } from './credential-service.js';
import type { ListenerConfig } from './listener-config.js';
import { MintLimiter } from './mint-limit.js';
import { claimSocketPath, releaseSocketPath, removeCreatedDirectories } from './socket-file.js';
import { removeStoppedMark } from '../shared/stopped-mark.js';
import type { DaemonControl } from './control-ops.js';
import { GROUP_SOCKET_MODE } from './socket-access.js';
import { SocketServer } from './socket-server.js';

export interface ListenerOptions {
  /** The --socket path: unrestricted unless `listeners` names it too. */
  defaultSocket: string;
  listeners: readonly ListenerConfig[];
  service: CredentialService;
  control?: DaemonControl;
  log: Logger;
  version: string;
}

export interface RunningListener {
  socket: string;
  policy: ClientPolicy;
  server: SocketServer;
  /** Its `maxMintsPerMinute`, with the requests it refused. */
  mintLimiter?: MintLimiter;
}

/** The sockets to listen on, the default first, each once. */
export function plannedListeners(
  defaultSocket: string,
  listeners: readonly ListenerConfig[],
): ListenerConfig[] {
  const socket = resolve(defaultSocket);
  const configured = listeners.find((listener) => listener.socket === socket);
  // Every listener has a policy, if only to name it in audit records.
  return [
    configured ?? { socket, policy: { name: socket } },
    ...listeners.filter((listener) => listener !== configured),
  ];
}

/** How the config names a listener's socket setting, for an error's fix. */
function settingOf(listener: ListenerConfig, configured: readonly ListenerConfig[]): string {
  const index = configured.indexOf(listener);
  return index === -1 ? '--socket' : `listeners[${index}].socket`;
}

function describeAccess({ access }: ListenerConfig): string {
  return access === undefined ? 'this user only' : `open to group '${access.group.name}'`;
}

/**
 * Refuses a socket open to a group that shares its directory with a socket
 * that is not (private, or another group's): one directory cannot be both
 * 0700 and open to the group, and each check's fix would undo the other's.
 */
export function checkSharedDirectories(
  planned: readonly ListenerConfig[],
  configured: readonly ListenerConfig[],
): void {
  for (const open of planned) {
    if (open.access === undefined) continue;
    const directory = dirname(open.socket);
    const clash = planned.find(
      (other) =>
        dirname(other.socket) === directory && other.access?.group.gid !== open.access!.group.gid,
    );
    if (clash === undefined) continue;
    throw new ConfigError(
      `socket '${open.socket}' (${describeAccess(open)}) and socket '${clash.socket}' (${describeAccess(clash)}) are in one directory '${directory}', which cannot be private and open to a group at once; give ${settingOf(open, configured)} a directory of its own, for example '${join(directory, open.access.group.name, basename(open.socket))}'`,
    );
  }
}

export async function startListeners(options: ListenerOptions): Promise<RunningListener[]> {
  const running: RunningListener[] = [];
  const claimed: string[] = [];
  const planned = plannedListeners(options.defaultSocket, options.listeners);
  checkSharedDirectories(planned, options.listeners);
  try {
    for (const listener of planned) {
      const { socket, policy, access } = listener;
      await claimSocketPath(socket, access, settingOf(listener, options.listeners));
      claimed.push(socket);
      const mintLimiter =
        policy.maxMintsPerMinute === undefined
          ? undefined
          : new MintLimiter(socket, policy.maxMintsPerMinute);
      const server = new SocketServer({
        socketPath: socket,
        service: options.service,
        ...(options.control === undefined ? {} : { control: options.control }),
        log: options.log.child({ socket }),
        version: options.version,
        policy,
        ...(access === undefined ? {} : { access }),
        ...(mintLimiter === undefined ? {} : { mintLimit: mintLimiter }),
      });
      await server.listen();
      // A daemon listens here again: git has nothing more to wait for.
      removeStoppedMark(socket);
      running.push({
        socket,
        policy,
        server,
        ...(mintLimiter === undefined ? {} : { mintLimiter }),
      });
    }
  } catch (error) {
    await closeListeners(running);
    await Promise.all(claimed.map((socket) => releaseSocketPath(socket)));
    // Last claimed first: a directory an earlier claim made may hold one a
    // later claim made, and is only empty once that one is gone.
    for (const socket of [...claimed].reverse()) removeCreatedDirectories(socket);
    throw error;
  }
  return running;
}

/** Closes every listener (answering requests in flight) and gives up its socket path. */
export async function closeListeners(listeners: readonly RunningListener[]): Promise<void> {
  await Promise.all(
    listeners.map(async (listener) => {
      await listener.server.close();
      await releaseSocketPath(listener.socket);
    }),
  );
}

/** A listener as `status` shows it. */
/**
 * The socket's permission bits as `status` shows them ("0600", "0660"):
 * read from the file, so status says what it is, not what the config
 * asked for; what the daemon set on it when the file cannot be read.
 */
function socketMode(socket: string, group: string | undefined): string {
  let mode: number;
  try {
    mode = statSync(socket).mode & 0o777;
  } catch {
    mode = group === undefined ? 0o600 : GROUP_SOCKET_MODE;
  }
  return mode.toString(8).padStart(4, '0');
}

export function listenerStatus({ socket, policy, mintLimiter }: RunningListener): StatusListener {
  return {
    socket,
    ...(policy.allow === undefined ? {} : { allow: [...policy.allow] }),
    ...(policy.permissions === undefined ? {} : { permissions: policy.permissions }),
    ...(policy.group === undefined ? {} : { group: policy.group }),
    ...(mintLimiter === undefined
      ? {}
      : { maxMintsPerMinute: mintLimiter.perMinute, mintsRefused: mintLimiter.refused }),
    mode: socketMode(socket, policy.group),
  };
}
