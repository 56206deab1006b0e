/**
 * What a cached token's hits reuse: the credential as served (one frozen
 * object, so the socket server builds its reply line once) and its
 * formatted expiry.
 */
import type { WireCredential } from '../shared/protocol.js';
import type { CredentialEnvelope } from './provider.js';

/** The credential as the wire protocol carries it. */
export function toWire(envelope: CredentialEnvelope, cached: boolean): WireCredential {
  return {
    username: envelope.username,
    secret: envelope.secret,
    expiresAtMs: envelope.expiresAtMs,
    granted: envelope.granted,
    cached,
  };
}

/** What every hit on one cached token serves and audits alike. */
export interface HitFacts {
  /** The same object for every hit, so the socket server can reuse its reply line. */
  wire: Readonly<WireCredential>;
  expiresAt: string;
}

/**
 * Hit facts are kept for this many tokens, the most recently first hit:
 * every hot token of a busy daemon, while 10,000 tokens each hit once cost
 * no more than these (with its reply line, about 400 bytes a token).
 */
export const HIT_FACTS_KEPT = 1024;

/**
 * The facts of the HIT_FACTS_KEPT tokens first hit most recently, in order
 * of first hit.
 */
export class HitFactsMemo {
  readonly #facts = new Map<CredentialEnvelope, HitFacts>();

  /**
   * Worked out on a token's first hit and kept for the HIT_FACTS_KEPT
   * tokens first hit most recently: a cached token is served many times,
   * and formatting its expiry and building its reply each time was a good
   * part of a hit's cost. Never a way to serve a token: a hit reads the
   * cache first.
   */
  get(envelope: CredentialEnvelope): HitFacts {
    let facts = this.#facts.get(envelope);
    if (facts === undefined) {
      facts = {
        wire: Object.freeze(toWire(envelope, true)),
        expiresAt: new Date(envelope.expiresAtMs).toISOString(),
      };
      this.#facts.set(envelope, facts);
      if (this.#facts.size > HIT_FACTS_KEPT) {
        this.#facts.delete(this.#facts.keys().next().value!);
      }
    }
    return facts;
  }

  /** Forgets a token's facts (an erase, or a mint the audit log did not record). */
  delete(envelope: CredentialEnvelope): void {
    this.#facts.delete(envelope);
  }
}
