/**
 * The daemon's socket server: one request line in, one reply line out, per
 * connection. Every failure becomes an error reply; nothing a client sends
 * can stop the daemon from serving the others.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync } from 'node:fs';
import type { Logger } from 'pino';
import {
  BadRequestError,
  DaemonUnreachableError,
  RequestDeniedError,
  toBrokerError,
} from '../shared/errors.js';
import {
  encodeMessage,
  errorReply,
  MAX_MESSAGE_BYTES,
  parseRequest,
  PROTOCOL_VERSION,
  type DaemonStatus,
  type Reply,
  type Request,
} from '../shared/protocol.js';
import type { ClientPolicy } from './client-policy.js';
import type { CredentialService } from './credential-service.js';
import type { RequestContext } from './provider.js';

/**
 * A connection must deliver its whole request line within this time, however
 * it trickles. Once the request is in, serving it has its own deadlines (each
 * call to GitHub times out), so slow upstreams never cut a client off.
 */
export const REQUEST_LINE_TIMEOUT_MS = 10_000;
/**
 * Connections served at once per socket; more are answered "busy" and
 * closed. Well above what parallel git (submodules, -j) opens, well below
 * the default file descriptor limit.
 */
export const MAX_CONNECTIONS = 256;

/** Daemon-level operations the socket exposes beside credentials. */
export interface DaemonControl {
  status(): Promise<DaemonStatus>;
  /** Begins a graceful shutdown; called after the reply is sent. */
  stop(): void;
}

export interface SocketServerOptions {
  socketPath: string;
  service: CredentialService;
  /** Daemon-wide status and stop; without it those ops are refused. */
  control?: DaemonControl;
  log: Logger;
  version: string;
  /** What this socket's clients may obtain; absent: unrestricted. */
  policy?: ClientPolicy;
  maxConnections?: number;
  /** Deadline for the whole request line (REQUEST_LINE_TIMEOUT_MS). */
  requestLineTimeoutMs?: number;
}

export class SocketServer {
  readonly #options: SocketServerOptions;
  readonly #server: Server;
  readonly #inFlight = new Set<Promise<void>>();
  /** Connections that have not sent a complete request yet. */
  readonly #waiting = new Set<Socket>();
  #connections = 0;

  constructor(options: SocketServerOptions) {
    this.#options = options;
    // Half-open, so a client that ends its side early still gets its reply.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (error) => options.log.error({ err: error }, 'socket server error'));
  }

  /** Connections open now, for tests and status. */
  get connections(): number {
    return this.#connections;
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

  /**
   * Stops accepting, drops connections that have not sent a request (a slow
   * client must not hold up shutdown), and answers the requests in flight.
   */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#waiting) socket.destroy();
    await Promise.allSettled([...this.#inFlight]);
    await closed;
  }

  #accept(socket: Socket): void {
    const requestId = randomUUID();
    const log = this.#options.log.child({ requestId });
    const chunks: Buffer[] = [];
    let received = 0;
    let handled = false;

    // Armed first: even a refused connection must not linger.
    this.#waiting.add(socket);
    const deadline = setTimeout(() => {
      log.warn('closing a connection that sent no complete request in time');
      socket.destroy();
    }, this.#options.requestLineTimeoutMs ?? REQUEST_LINE_TIMEOUT_MS);
    const requestIn = (): void => {
      handled = true;
      clearTimeout(deadline);
      this.#waiting.delete(socket);
    };
    socket.on('close', requestIn);
    this.#connections++;
    socket.once('close', () => this.#connections--);
    if (this.#connections > (this.#options.maxConnections ?? MAX_CONNECTIONS)) {
      log.warn({ connections: this.#connections }, 'refusing connection: too many open');
      requestIn();
      socket.on('error', () => undefined);
      // Read and drop what it sends, or its end never arrives and it lingers.
      socket.resume();
      this.#reply(
        socket,
        errorReply(new DaemonUnreachableError('the broker daemon is busy; retry in a moment')),
      );
      return;
    }

    socket.on('error', (error) => log.debug({ err: error }, 'client connection error'));
    socket.on('end', () => {
      if (handled) return;
      requestIn();
      this.#reply(socket, errorReply(new BadRequestError('request ended without a newline')));
    });
    socket.on('data', (chunk: Buffer) => {
      if (handled) return;
      const newline = chunk.indexOf(0x0a);
      received += newline === -1 ? chunk.length : newline + 1;
      if (received > MAX_MESSAGE_BYTES) {
        requestIn();
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
      requestIn();
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
    switch (request.op) {
      case 'ping':
        return { v: PROTOCOL_VERSION, ok: true, daemonVersion: this.#options.version };
      case 'status':
        return {
          v: PROTOCOL_VERSION,
          ok: true,
          status: await this.#requireUnrestricted('status').status(),
        };
      case 'stop': {
        const control = this.#requireUnrestricted('stop');
        log.info('stop requested over the socket');
        setImmediate(() => control.stop());
        return { v: PROTOCOL_VERSION, ok: true };
      }
    }
    const context: RequestContext = { requestId, requester: request.requester, log };
    if (this.#options.policy !== undefined) context.policy = this.#options.policy;
    if (request.op === 'get') {
      const credential = await this.#options.service.get(request, context);
      return { v: PROTOCOL_VERSION, ok: true, credential };
    }
    const erased = await this.#options.service.erase(request, context);
    return { v: PROTOCOL_VERSION, ok: true, erased };
  }

  /**
   * Daemon-wide operations belong to the operator's socket: a sandbox on a
   * restricted listener must not stop the daemon or see other sockets' cache.
   */
  #requireUnrestricted(op: string): DaemonControl {
    const { policy, control } = this.#options;
    if (policy?.allow !== undefined || policy?.permissions !== undefined) {
      throw new RequestDeniedError(
        `'${op}' is not allowed on socket '${policy.name}', which has a client policy; use the daemon's --socket`,
      );
    }
    if (control === undefined) throw new BadRequestError(`'${op}' is not served on this socket`);
    return control;
  }

  #reply(socket: Socket, reply: Reply): void {
    if (socket.destroyed) return;
    // One reply per connection: close it once the reply is out, even if
    // the client keeps its side open.
    socket.end(encodeMessage(reply), () => socket.destroy());
  }
}
