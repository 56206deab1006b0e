/**
 * Starts one socket server per listener: the --socket one and every socket
 * in the config's `listeners`, each claimed the same way (private directory,
 * one daemon per socket, stale socket removed) and each with its policy.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ClientPolicy } from './client-policy.js';
import type { CredentialService } from './credential-service.js';
import type { ListenerConfig } from './listener-config.js';
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
}

/** The sockets to listen on, the default first, each once. */
export function plannedListeners(
  defaultSocket: string,
  listeners: readonly ListenerConfig[],
): { socket: string; policy: ClientPolicy }[] {
  const socket = resolve(defaultSocket);
  const configured = listeners.find((listener) => listener.socket === socket);
  // Every listener has a policy, if only to name it in audit records.
  return [
    { socket, policy: configured?.policy ?? { name: socket } },
    ...listeners.filter((listener) => listener !== configured),
  ];
}

export async function startListeners(options: ListenerOptions): Promise<RunningListener[]> {
  const running: RunningListener[] = [];
  const claimed: string[] = [];
  try {
    for (const { socket, policy } of plannedListeners(options.defaultSocket, options.listeners)) {
      await claimSocketPath(socket);
      claimed.push(socket);
      const server = new SocketServer({
        socketPath: socket,
        service: options.service,
        ...(options.control === undefined ? {} : { control: options.control }),
        log: options.log.child({ socket }),
        version: options.version,
        policy,
      });
      await server.listen();
      running.push({ socket, policy, server });
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
