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
  PROTOCOL_VERSION,
  type Reply,
  type Requester,
  type WireCredential,
} from '../shared/protocol.js';
import { asSocketPath } from '../shared/paths.js';
import { cutOffReplyLine, stoppingReplyLine, type Stopping } from '../shared/stopping-reply.js';
import { parseRequest } from '../shared/request-parse.js';
import { withoutTokens } from '../shared/printable.js';
import type { ClientPolicy } from './client-policy.js';
import type { MintLimit } from './provider.js';
import { openSocketToGroup, type GroupAccess } from './socket-access.js';
import { ConnectionAdmission } from './connection-admission.js';
import { answerControl, type ControlRequest, type DaemonControl } from './control-ops.js';
import type { CredentialService } from './credential-service.js';
import type { RequestContext } from './provider.js';

export interface SocketServerOptions {
  socketPath: string;
  service: CredentialService;
  /** Daemon-wide status and stop; without it those ops are refused. */
  control?: DaemonControl;
  log: Logger;
  version: string;
  /** What this socket's clients may obtain; absent: unrestricted. */
  policy?: ClientPolicy;
  /** The group that may connect besides this user; absent: the socket is 0600. */
  access?: GroupAccess;
  /** The socket's limit on requests that reach GitHub; absent: none. */
  mintLimit?: MintLimit;
  /** Connections served at once (MAX_CONNECTIONS). */
  maxConnections?: number;
  /** Deadline for the whole request line (REQUEST_LINE_TIMEOUT_MS). */
  requestLineTimeoutMs?: number;
  /** How often busy refusals are logged, at most (BUSY_REPORT_MS). */
  busyReportMs?: number;
}

/**
 * Reply lines for credentials served from the cache, one per token while
 * its credential object lives: the service hands out the same frozen object
 * for every hit on a token, and its line is then built once, not per hit.
 * Only frozen objects: nothing can change those after the line was built.
 */
const hitLines = new WeakMap<WireCredential, string>();

function credentialLine(credential: WireCredential): string {
  const frozen = Object.isFrozen(credential);
  let line = frozen ? hitLines.get(credential) : undefined;
  if (line === undefined) {
    line = encodeMessage({ v: PROTOCOL_VERSION, ok: true, credential });
    if (frozen) hitLines.set(credential, line);
  }
  return line;
}

export class SocketServer {
  readonly #options: SocketServerOptions;
  readonly #server: Server;
  readonly #admission: ConnectionAdmission;
  /** Requests being served; close() waits for them. */
  #serving = 0;
  #whenServed: (() => void)[] = [];
  /** Set once the daemon shuts down: the reply every new request gets. */
  #stoppingLine: string | undefined;
  /** The connections of the requests being served, for a shutdown that cuts them off. */
  readonly #servingSockets = new Set<Socket>();

  constructor(options: SocketServerOptions) {
    this.#options = options;
    this.#admission = new ConnectionAdmission(options);
    // Half-open, so a client that ends its side early still gets its reply.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (error) => options.log.error({ err: error }, 'socket server error'));
  }

  /** Connections open now, for tests and status. */
  get connections(): number {
    return this.#admission.connections;
  }

  /** Requests being served now: read, and not yet answered. */
  get inFlight(): number {
    return this.#serving;
  }

  /**
   * Listens with the socket file created 0600 (umask set around listen),
   * then opened to its group if it has one.
   */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const previous = process.umask(0o177);
      const onError = (error: Error): void => {
        process.umask(previous);
        reject(error);
      };
      this.#server.once('error', onError);
      this.#server.listen(asSocketPath(this.#options.socketPath), () => {
        process.umask(previous);
        this.#server.off('error', onError);
        try {
          // Belt and braces for platforms that ignore umask on sockets.
          chmodSync(this.#options.socketPath, 0o600);
          const { access } = this.#options;
          if (access !== undefined) openSocketToGroup(this.#options.socketPath, access);
        } catch (error) {
          this.#server.close();
          reject(error);
          return;
        }
        resolve();
      });
    });
  }

  /**
   * Refuses every request from now on with the stopping reply (its pid and
   * deadline), while the socket stays, so that any client that reaches it
   * learns the daemon is stopping; the requests in flight are answered as
   * ever. close() ends it.
   */
  refuseAsStopping(stopping: Stopping): void {
    this.#stoppingLine = stoppingReplyLine(this.#options.socketPath, stopping);
  }

  /**
   * The shutdown's time is up: answers every request still being served
   * with the cut-off reply and closes its connection, so its client,
   * whatever its uid, learns why it gets no answer (an unanswered close read
   * as another program's doing). A later answer to it is dropped. Returns
   * how many were cut off.
   */
  cutOff(cutOff: Stopping): number {
    const line = cutOffReplyLine(this.#options.socketPath, cutOff);
    const sockets = [...this.#servingSockets];
    for (const socket of sockets) this.#reply(socket, line);
    return sockets.length;
  }

  /** Resolves once no request is being served (stopping replies aside). */
  async served(): Promise<void> {
    if (this.#serving > 0) await new Promise<void>((resolve) => this.#whenServed.push(resolve));
  }

  /**
   * Stops accepting, drops connections that have not sent a request (a slow
   * client must not hold up shutdown), and answers the requests in flight.
   */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#admission.close();
    await this.served();
    await closed;
  }

  #accept(socket: Socket): void {
    const requestId = randomUUID();
    // Most requests log nothing here (the audit log has them): make the
    // child logger only when something is logged.
    let child: Logger | undefined;
    const log = (): Logger => (child ??= this.#options.log.child({ requestId }));
    let chunks: Buffer[] | undefined;
    let received = 0;
    let handled = false;

    const admission = this.#admission;
    const admitted = admission.enter(socket);
    const requestIn = (): void => {
      handled = true;
      admission.requestIn(socket);
    };
    socket.on('close', () => {
      handled = true;
      admission.leave(socket);
    });
    if (!admitted) {
      admission.refuse(socket, (request) => {
        handled = true;
        void this.#serve(socket, request, requestId, log);
      });
      return;
    }

    socket.on('error', (error) => log().debug({ err: error }, 'client connection error'));
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
        (chunks ??= []).push(chunk);
        return;
      }
      requestIn();
      const last = chunk.subarray(0, newline);
      // Usually the whole line comes in one chunk: no copy for that.
      const line = chunks === undefined ? last : Buffer.concat([...chunks, last]);
      void this.#serve(socket, line.toString('utf8'), requestId, log);
    });
  }

  /** Answers one request line: every failure becomes an error reply. */
  async #serve(
    socket: Socket,
    line: string | ControlRequest,
    requestId: string,
    log: () => Logger,
  ): Promise<void> {
    if (this.#stoppingLine !== undefined) {
      this.#reply(socket, this.#stoppingLine);
      return;
    }
    this.#serving++;
    this.#servingSockets.add(socket);
    try {
      let reply: Reply | string;
      try {
        // One async step per request: a cache hit is answered in a few
        // microseconds, and each extra await is a good part of that.
        const request = typeof line === 'string' ? parseRequest(line) : line;
        if (request.op === 'get') {
          const context = this.#context(request.requester, requestId, log);
          reply = credentialLine(await this.#options.service.get(request, context));
        } else if (request.op === 'erase') {
          const context = this.#context(request.requester, requestId, log);
          const erased = await this.#options.service.erase(request, context);
          reply = { v: PROTOCOL_VERSION, ok: true, erased };
        } else {
          reply = await answerControl(request, this.#options, log);
        }
      } catch (error) {
        const brokerError = toBrokerError(error);
        log().info(
          { code: brokerError.code, reason: withoutTokens(brokerError.message) },
          'request refused',
        );
        reply = errorReply(brokerError);
      }
      this.#reply(socket, reply);
    } catch (error) {
      // Every failure above became a reply; this is the last resort.
      log().error({ err: error }, 'unexpected error while answering a request');
      socket.destroy();
    } finally {
      this.#servingSockets.delete(socket);
      if (--this.#serving === 0) for (const resolve of this.#whenServed.splice(0)) resolve();
    }
  }

  #context(requester: Requester, requestId: string, log: () => Logger): RequestContext {
    const context: RequestContext = {
      requestId,
      requester,
      get log() {
        return log();
      },
    };
    if (this.#options.policy !== undefined) context.policy = this.#options.policy;
    if (this.#options.mintLimit !== undefined) context.mintLimit = this.#options.mintLimit;
    return context;
  }

  #reply(socket: Socket, reply: Reply | string): void {
    // Ended: answered already (cut off by the shutdown), one reply only.
    if (socket.destroyed || socket.writableEnded) return;
    // One reply per connection: close it once the reply is out, even if
    // the client keeps its side open.
    socket.end(typeof reply === 'string' ? reply : encodeMessage(reply), () => socket.destroy());
  }
}
