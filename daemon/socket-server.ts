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
  type Requester,
  type WireCredential,
} from '../shared/protocol.js';
import { asSocketPath } from '../shared/paths.js';
import { withoutTokens } from '../shared/printable.js';
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
/** How often refused connections are reported in the daemon's log, at most. */
const BUSY_REPORT_MS = 10_000;

/** Daemon-level operations the socket exposes beside credentials. */
export interface DaemonControl {
  status(): Promise<DaemonStatus>;
  /** Begins a graceful shutdown; called after the reply is sent. */
  stop(): void;
  /** Whether any of the daemon's sockets has no client policy. */
  hasUnrestrictedSocket(): boolean;
}

/** Whether a socket's clients are held to a policy (an allow list or a ceiling). */
export function isRestricted(policy: ClientPolicy | undefined): boolean {
  return policy?.allow !== undefined || policy?.permissions !== undefined;
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
  readonly #lineTimeoutMs: number;
  /**
   * Connections that have not sent a complete request yet, with the time
   * each must have by. All share one timeout, so the map's order (accept
   * order) is deadline order, and one timer, set for the earliest deadline,
   * stands in for a timer per connection.
   */
  readonly #waiting = new Map<Socket, number>();
  #deadlineTimer: NodeJS.Timeout | undefined;
  #connections = 0;
  /** Busy refusals since the last report, and when that was. */
  #busyRefused = 0;
  #busyReportedAtMs = Number.NEGATIVE_INFINITY;
  /** Set while refusals wait for the end of the window to be reported. */
  #busyTimer: NodeJS.Timeout | undefined;
  /** Requests being served; close() waits for them. */
  #serving = 0;
  #whenServed: (() => void)[] = [];

  constructor(options: SocketServerOptions) {
    this.#options = options;
    this.#lineTimeoutMs = options.requestLineTimeoutMs ?? REQUEST_LINE_TIMEOUT_MS;
    // Half-open, so a client that ends its side early still gets its reply.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (error) => options.log.error({ err: error }, 'socket server error'));
  }

  /** Connections open now, for tests and status. */
  get connections(): number {
    return this.#connections;
  }

  /** Requests being served now: read, and not yet answered. */
  get inFlight(): number {
    return this.#serving;
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
      this.#server.listen(asSocketPath(this.#options.socketPath), () => {
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
    clearTimeout(this.#deadlineTimer);
    // Refusals not yet reported are reported now, not lost with the timer.
    if (this.#busyTimer !== undefined) {
      clearTimeout(this.#busyTimer);
      this.#busyTimer = undefined;
      this.#reportBusy();
    }
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#waiting.keys()) socket.destroy();
    if (this.#serving > 0) await new Promise<void>((resolve) => this.#whenServed.push(resolve));
    await closed;
  }

  /** Sets the timer for the earliest deadline, unless one is set. */
  #armDeadline(): void {
    if (this.#deadlineTimer !== undefined) return;
    const first = this.#waiting.values().next();
    if (first.done === true) return;
    this.#deadlineTimer = setTimeout(
      () => {
        this.#deadlineTimer = undefined;
        this.#closeLate();
        this.#armDeadline();
      },
      Math.max(0, first.value - performance.now()),
    );
    this.#deadlineTimer.unref();
  }

  /**
   * Logs refused connections at most every BUSY_REPORT_MS, with a count: a
   * client opening connections in a loop must not fill the disk with the log.
   * Refusals within the window are reported when it ends, so the last ones
   * of a burst are not left unreported until the next burst.
   */
  #warnBusy(): void {
    this.#busyRefused++;
    if (this.#busyTimer !== undefined) return;
    const windowMs = this.#options.busyReportMs ?? BUSY_REPORT_MS;
    const waitMs = this.#busyReportedAtMs + windowMs - performance.now();
    if (waitMs <= 0) {
      this.#reportBusy();
      return;
    }
    this.#busyTimer = setTimeout(() => {
      this.#busyTimer = undefined;
      this.#reportBusy();
    }, waitMs);
    this.#busyTimer.unref();
  }

  #reportBusy(): void {
    this.#options.log.warn(
      { connections: this.#connections, refused: this.#busyRefused },
      'refusing connections: too many open',
    );
    this.#busyReportedAtMs = performance.now();
    this.#busyRefused = 0;
  }

  #closeLate(): void {
    const nowMs = performance.now();
    for (const [socket, deadlineMs] of this.#waiting) {
      if (deadlineMs > nowMs) break;
      this.#waiting.delete(socket);
      this.#options.log.warn('closing a connection that sent no complete request in time');
      socket.destroy();
    }
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

    // First: even a refused connection must not linger.
    this.#waiting.set(socket, performance.now() + this.#lineTimeoutMs);
    this.#armDeadline();
    this.#connections++;
    const requestIn = (): void => {
      handled = true;
      this.#waiting.delete(socket);
    };
    socket.on('close', () => {
      this.#connections--;
      requestIn();
    });
    if (this.#connections > (this.#options.maxConnections ?? MAX_CONNECTIONS)) {
      this.#warnBusy();
      socket.on('error', () => undefined);
      // Answer once the client has sent something (or ended): answering at
      // once raced its write, which then failed with EPIPE and lost the
      // answer. Until then the request-line deadline applies as to anyone.
      const busy = (): void => {
        if (handled) return;
        requestIn();
        // Read and drop the rest, or its end never arrives and it lingers.
        socket.resume();
        this.#reply(
          socket,
          errorReply(new DaemonUnreachableError('the broker daemon is busy; retry in a moment')),
        );
      };
      socket.once('data', busy);
      socket.once('end', busy);
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
  async #serve(socket: Socket, line: string, requestId: string, log: () => Logger): Promise<void> {
    this.#serving++;
    try {
      let reply: Reply | string;
      try {
        // One async step per request: a cache hit is answered in a few
        // microseconds, and each extra await is a good part of that.
        const request = parseRequest(line);
        if (request.op === 'get') {
          const context = this.#context(request.requester, requestId, log);
          reply = credentialLine(await this.#options.service.get(request, context));
        } else if (request.op === 'erase') {
          const context = this.#context(request.requester, requestId, log);
          const erased = await this.#options.service.erase(request, context);
          reply = { v: PROTOCOL_VERSION, ok: true, erased };
        } else {
          reply = await this.#control(request, log);
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
    return context;
  }

  async #control(
    request: Exclude<Request, { op: 'get' | 'erase' }>,
    log: () => Logger,
  ): Promise<Reply> {
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
        log().info('stop requested over the socket');
        setImmediate(() => control.stop());
        return { v: PROTOCOL_VERSION, ok: true };
      }
    }
  }

  /**
   * Daemon-wide operations belong to the operator's socket: a sandbox on a
   * restricted listener must not stop the daemon or see other sockets' cache.
   */
  #requireUnrestricted(op: string): DaemonControl {
    const { policy, control } = this.#options;
    if (policy !== undefined && isRestricted(policy)) {
      const fix =
        control?.hasUnrestrictedSocket() === false
          ? `and this daemon has no socket without one: stop it with SIGTERM (kill -TERM ${process.pid})`
          : "use the daemon's --socket";
      throw new RequestDeniedError(
        `'${op}' is not allowed on socket '${policy.name}', which has a client policy; ${fix}`,
      );
    }
    if (control === undefined) throw new BadRequestError(`'${op}' is not served on this socket`);
    return control;
  }

  #reply(socket: Socket, reply: Reply | string): void {
    if (socket.destroyed) return;
    // One reply per connection: close it once the reply is out, even if
    // the client keeps its side open.
    socket.end(typeof reply === 'string' ? reply : encodeMessage(reply), () => socket.destroy());
  }
}
