/**
 * GitHub's clock as seen from here. Every response's `Date` header updates
 * the offset, so App JWTs are dated in GitHub's time and token expiries are
 * turned into local time even when the local clock is off.
 */

/** Offsets smaller than this are noise: `Date` has one-second resolution. */
const NEGLIGIBLE_OFFSET_MS = 2_000;

export class GitHubClock {
  readonly #now: () => number;
  #offsetMs = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** GitHub's time minus local time, in ms (0 while within a second or two). */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** The local clock. */
  localNowMs(): number {
    return this.#now();
  }

  /** GitHub's current time, estimated. */
  githubNowMs(): number {
    return this.#now() + this.#offsetMs;
  }

  /** Learns the offset from a response's `Date` header; ignores a bad one. */
  observe(dateHeader: string | null | undefined): void {
    if (!dateHeader) return;
    const githubMs = Date.parse(dateHeader);
    if (Number.isNaN(githubMs)) return;

    const offsetMs = githubMs - this.#now();
    this.#offsetMs = Math.abs(offsetMs) < NEGLIGIBLE_OFFSET_MS ? 0 : offsetMs;
  }

  /** A time GitHub reported (a token's `expires_at`), in local time. */
  toLocalMs(githubMs: number): number {
    return githubMs - this.#offsetMs;
  }
}
