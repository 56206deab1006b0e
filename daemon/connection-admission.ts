/**
 * Which connections a socket server takes, and for how long it waits on
 * them: at most MAX_CONNECTIONS at once (the rest answered "busy", and
 * reported in the log at most every BUSY_REPORT_MS, unless they ask for
 * ping, status or stop), each with REQUEST_LINE_TIMEOUT_MS to deliver its
 * whole request line.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { DaemonUnreachableError } from '../shared/errors.js';
import { encodeMessage, errorReply } from '../shared/protocol.js';
import { parseRequest } from '../shared/request-parse.js';
import type { ControlRequest } from './control-ops.js';

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

export interface AdmissionOptions {
  log: Logger;
  maxConnections?: number;
  /** Deadline for the whole request line (REQUEST_LINE_TIMEOUT_MS). */
  requestLineTimeoutMs?: number;
  /** How often busy refusals are logged, at most (BUSY_REPORT_MS). */
  busyReportMs?: number;
}

export class ConnectionAdmission {
  readonly #log: Logger;
  readonly #maxConnections: number;
  readonly #lineTimeoutMs: number;
  readonly #busyReportMs: number;
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

  constructor(options: AdmissionOptions) {
    this.#log = options.log;
    this.#maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.#lineTimeoutMs = options.requestLineTimeoutMs ?? REQUEST_LINE_TIMEOUT_MS;
    this.#busyReportMs = options.busyReportMs ?? BUSY_REPORT_MS;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections;
  }

  /**
   * Counts a new connection and starts its request-line deadline (first:
   * even a refused connection must not linger). False when it is one too
   * many: refuse() it then.
   */
  enter(socket: Socket): boolean {
    this.#waiting.set(socket, performance.now() + this.#lineTimeoutMs);
    this.#armDeadline();
    this.#connections++;
    return this.#connections <= this.#maxConnections;
  }

  /** The connection's request line is in (or it ended): its deadline no longer applies. */
  requestIn(socket: Socket): void {
    this.#waiting.delete(socket);
  }

  /** The connection closed. */
  leave(socket: Socket): void {
    this.#connections--;
    this.#waiting.delete(socket);
  }

  /**
   * Answers a connection beyond the cap "busy", once the client has sent
   * something (or ended): answering at once raced its write, which then
   * failed with EPIPE and lost the answer. Until then the request-line
   * deadline applies as to anyone. A control request (ping, status, stop)
   * whose line came whole in the first chunk goes to `serveControl`
   * instead: a daemon saturated by credential requests must still be
   * stoppable over its socket (found in review).
   */
  refuse(socket: Socket, serveControl?: (request: ControlRequest) => void): void {
    socket.on('error', () => undefined);
    let answered = false;
    const busy = (chunk?: Buffer): void => {
      if (answered) return;
      answered = true;
      this.requestIn(socket);
      const control = serveControl && chunk && controlRequest(chunk);
      if (control) {
        serveControl(control);
        return;
      }
      this.#warnBusy();
      // Read and drop the rest, or its end never arrives and it lingers.
      socket.resume();
      if (socket.destroyed) return;
      socket.end(busyReply(), () => socket.destroy());
    };
    socket.once('data', busy);
    socket.once('end', () => busy());
  }

  /**
   * At shutdown: reports the refusals not yet reported, and drops the
   * connections that have not sent a request (a slow client must not hold
   * up shutdown).
   */
  close(): void {
    clearTimeout(this.#deadlineTimer);
    // Refusals not yet reported are reported now, not lost with the timer.
    if (this.#busyTimer !== undefined) {
      clearTimeout(this.#busyTimer);
      this.#busyTimer = undefined;
      this.#reportBusy();
    }
    for (const socket of this.#waiting.keys()) socket.destroy();
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

  #closeLate(): void {
    const nowMs = performance.now();
    for (const [socket, deadlineMs] of this.#waiting) {
      if (deadlineMs > nowMs) break;
      this.#waiting.delete(socket);
      this.#log.warn('closing a connection that sent no complete request in time');
      socket.destroy();
    }
  }

  /**
   * Logs refused connections at most every busyReportMs, with a count: a
   * client opening connections in a loop must not fill the disk with the log.
   * Refusals within the window are reported when it ends, so the last ones
   * of a burst are not left unreported until the next burst.
   */
  #warnBusy(): void {
    this.#busyRefused++;
    if (this.#busyTimer !== undefined) return;
    const waitMs = this.#busyReportedAtMs + this.#busyReportMs - performance.now();
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
    this.#log.warn(
      { connections: this.#connections, refused: this.#busyRefused },
      'refusing connections: too many open',
    );
    this.#busyReportedAtMs = performance.now();
    this.#busyRefused = 0;
  }
}

/**
 * The chunk's request when it is a whole control request line. Parsed here
 * once and handed on; anything else (a credential request, a partial or
 * malformed line) is answered busy.
 */
function controlRequest(chunk: Buffer): ControlRequest | undefined {
  const newline = chunk.indexOf(0x0a);
  if (newline === -1) return undefined;
  try {
    const request = parseRequest(chunk.subarray(0, newline).toString('utf8'));
    return request.op === 'get' || request.op === 'erase' ? undefined : request;
  } catch {
    return undefined;
  }
}

function busyReply(): string {
  return encodeMessage(
    errorReply(new DaemonUnreachableError('the broker daemon is busy; retry in a moment')),
  );
}
