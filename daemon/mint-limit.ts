/**
 * A listener's `maxMintsPerMinute`: how many of its requests a minute may
 * reach GitHub (a mint, or the installation lookup before one). Every
 * client shares the App's GitHub rate limit, and a compromised sandbox
 * must not be able to spend it all. Cache hits are never counted or slowed:
 * the limit is consulted only on the way to GitHub.
 *
 * A token bucket: up to `perMinute` at once, then one more every
 * 60 s / perMinute. A request is charged once, however many calls it makes.
 */
import { RequestDeniedError } from '../shared/errors.js';
import type { MintLimit, RequestContext } from './provider.js';

/** The audit line's `reason` for a request refused by this limit. */
export const MINT_LIMIT_REASON = 'mint_limit';

/** A request over its socket's limit; audited as token.denied with its reason. */
export class MintLimitError extends RequestDeniedError {
  readonly reason = MINT_LIMIT_REASON;
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class MintLimiter implements MintLimit {
  readonly perMinute: number;
  readonly #socket: string;
  readonly #now: () => number;
  #tokens: number;
  #updatedMs: number;
  /** Requests refused by the limit since the daemon started, for status. */
  refused = 0;
  /** Requests already charged: their second call (lookup, then mint) is free. */
  readonly #charged = new WeakSet<RequestContext>();

  constructor(socket: string, perMinute: number, now: () => number = Date.now) {
    if (!Number.isSafeInteger(perMinute) || perMinute <= 0) {
      throw new TypeError(`perMinute must be a positive integer, got ${perMinute}`);
    }
    this.perMinute = perMinute;
    this.#socket = socket;
    this.#now = now;
    this.#tokens = perMinute;
    this.#updatedMs = now();
  }

  /** Charges the request, or throws MintLimitError when the bucket is empty. */
  spend(context: RequestContext): void {
    if (this.#charged.has(context)) return;

    const nowMs = this.#now();
    const msPerToken = 60_000 / this.perMinute;
    // A clock stepped back refills nothing rather than draining the bucket.
    const elapsedMs = Math.max(0, nowMs - this.#updatedMs);
    this.#tokens = Math.min(this.perMinute, this.#tokens + elapsedMs / msPerToken);
    this.#updatedMs = nowMs;

    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#charged.add(context);
      return;
    }
    this.refused++;
    // Rounded to the ms first: fractions of a token carry float noise.
    const waitMs = Math.round((1 - this.#tokens) * msPerToken);
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    const requests =
      this.perMinute === 1 ? 'request a minute that mints' : 'requests a minute that mint';
    throw new MintLimitError(
      `socket '${this.#socket}' allows at most ${this.perMinute} ${requests} a token ("maxMintsPerMinute"), and this one would be over it; retry in ${retryAfterSeconds} s (tokens already cached are still served), or raise that listener's "maxMintsPerMinute" in the broker config`,
      retryAfterSeconds,
    );
  }
}
