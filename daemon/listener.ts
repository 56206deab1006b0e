/**
 * Starts one socket server per listener: the --socket one and every socket
 * in the config's `listeners`, each claimed the same way (private directory,
 * one daemon per socket, stale socket removed) and each with its policy.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { StatusListener } from '../shared/protocol.js';
import type { ClientPolicy } from './client-policy.js';
import type { CredentialService } from './credential-service.js';
import type { ListenerConfig } from './listener-config.js';
import { MintLimiter } from './mint-limit.js';
import { claimSocketPath, releaseSocketPath } from './socket-file.js';
import type { DaemonControl } from './control-ops.js';
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

export async function startListeners(options: ListenerOptions): Promise<RunningListener[]> {
  const running: RunningListener[] = [];
  const claimed: string[] = [];
  try {
    for (const planned of plannedListeners(options.defaultSocket, options.listeners)) {
      const { socket, policy, access } = planned;
      await claimSocketPath(socket, access);
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
export function listenerStatus({ socket, policy, mintLimiter }: RunningListener): StatusListener {
  return {
    socket,
    ...(policy.allow === undefined ? {} : { allow: [...policy.allow] }),
    ...(policy.permissions === undefined ? {} : { permissions: policy.permissions }),
    ...(policy.group === undefined ? {} : { group: policy.group }),
    ...(mintLimiter === undefined
      ? {}
      : { maxMintsPerMinute: mintLimiter.perMinute, mintsRefused: mintLimiter.refused }),
  };
}
