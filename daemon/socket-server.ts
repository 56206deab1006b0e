/**
 * The daemon's socket server: one request line in, one reply line out, per
 * connection. Every failure becomes an error reply; nothing a client sends
 * can stop the daemon from serving the others.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync } from 'node:fs';
import type { Logger } from 'pino';
import { BadRequestError, toBrokerError } from '../shared/errors.js';
import {
  encodeMessage,
  errorReply,
  MAX_MESSAGE_BYTES,
  parseRequest,
  PROTOCOL_VERSION,
  type Reply,
  type Request,
} from '../shared/protocol.js';
import type { CredentialService } from './credential-service.js';
import type { RequestContext } from './provider.js';

/** A connection that sends no complete request within this time is closed. */
export const IDLE_TIMEOUT_MS = 10_000;

export interface SocketServerOptions {
  socketPath: string;
  service: CredentialService;
  log: Logger;
  version: string;
}

export class SocketServer {
  readonly #options: SocketServerOptions;
  readonly #server: Server;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: SocketServerOptions) {
    this.#options = options;
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.on('error', (error) => options.log.error({ err: error }, 'socket server error'));
  }

  /** Listens with the socket file created 0600 (umask set around listen). */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const previous = process.umask(0o177);
      const onError = (error: Error): void => {
        process.umask(previous);
        reject(error);
      };
      this.#server.once('error', onError);
      this.#server.listen(this.#options.socketPath, () => {
        process.umask(previous);
        this.#server.off('error', onError);
        // Belt and braces for platforms that ignore umask on sockets.
        chmodSync(this.#options.socketPath, 0o600);
        resolve();
      });
    });
  }

  /** Stops accepting, then waits for requests in flight to be answered. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.allSettled([...this.#inFlight]);
    await closed;
  }

  #accept(socket: Socket): void {
    const requestId = randomUUID();
    const log = this.#options.log.child({ requestId });
    const chunks: Buffer[] = [];
    let received = 0;
    let handled = false;

    socket.setTimeout(IDLE_TIMEOUT_MS, () => {
      log.warn('closing idle connection');
      socket.destroy();
    });
    socket.on('error', (error) => log.debug({ err: error }, 'client connection error'));
    socket.on('data', (chunk: Buffer) => {
      if (handled) return;
      const newline = chunk.indexOf(0x0a);
      received += newline === -1 ? chunk.length : newline + 1;
      if (received > MAX_MESSAGE_BYTES) {
        handled = true;
        this.#reply(
          socket,
          errorReply(new BadRequestError(`request larger than ${MAX_MESSAGE_BYTES} bytes`)),
        );
        return;
      }
      if (newline === -1) {
        chunks.push(chunk);
        return;
      }
      handled = true;
      // The idle limit is for clients that never finish a request; a mint
      // that retries against a slow GitHub may legitimately take longer.
      socket.setTimeout(0);
      chunks.push(chunk.subarray(0, newline));
      this.#track(this.#handle(socket, Buffer.concat(chunks).toString('utf8'), requestId, log));
    });
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #handle(socket: Socket, line: string, requestId: string, log: Logger): Promise<void> {
    let reply: Reply;
    try {
      const request = parseRequest(line);
      reply = await this.#dispatch(request, requestId, log);
    } catch (error) {
      const brokerError = toBrokerError(error);
      log.info({ code: brokerError.code, reason: brokerError.message }, 'request refused');
      reply = errorReply(brokerError);
    }
    this.#reply(socket, reply);
  }

  async #dispatch(request: Request, requestId: string, log: Logger): Promise<Reply> {
    if (request.op === 'ping') {
      return { v: PROTOCOL_VERSION, ok: true, daemonVersion: this.#options.version };
    }
    const context: RequestContext = { requestId, requester: request.requester, log };
    if (request.op === 'get') {
      const credential = await this.#options.service.get(request, context);
      return { v: PROTOCOL_VERSION, ok: true, credential };
    }
    const erased = await this.#options.service.erase(request, context);
    return { v: PROTOCOL_VERSION, ok: true, erased };
  }

  #reply(socket: Socket, reply: Reply): void {
    if (socket.destroyed) return;
    socket.end(encodeMessage(reply));
  }
}
