/**
 * Signs the App's JWT (RS256) in GitHub's time and reuses it for a few
 * minutes: signing costs an RSA operation, and a JWT dated by a skewed local
 * clock is refused on every call, minting included.
 */
import { createSign } from 'node:crypto';
import type { GitHubClock } from './github-clock.js';

/** GitHub accepts `iat` up to a minute in the past, against drift. */
const ISSUED_BEFORE_S = 60;
/** GitHub caps `exp` at ten minutes after issue; stay under it. */
const LIFETIME_S = 9 * 60;
/** A cached JWT is replaced once it has less than this left. */
const REUSE_MARGIN_S = 4 * 60;

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export interface SignedJwt {
  jwt: string;
  expiresAt: string;
}

export class AppJwtSigner {
  readonly #appId: string;
  readonly #privateKeyPem: string;
  readonly #clock: GitHubClock;
  #cached: { jwt: string; expS: number; offsetMs: number } | undefined;

  constructor(appId: string, privateKeyPem: string, clock: GitHubClock) {
    this.#appId = appId;
    this.#privateKeyPem = privateKeyPem;
    this.#clock = clock;
  }

  /** A JWT valid now by GitHub's clock; `skewS` adds a known extra offset. */
  sign(skewS = 0): SignedJwt {
    const nowS = Math.floor(this.#clock.githubNowMs() / 1000) + skewS;
    const cached = this.#cached;
    if (
      skewS === 0 &&
      cached !== undefined &&
      cached.offsetMs === this.#clock.offsetMs &&
      cached.expS - nowS > REUSE_MARGIN_S
    ) {
      return { jwt: cached.jwt, expiresAt: new Date(cached.expS * 1000).toISOString() };
    }

    const iat = nowS - ISSUED_BEFORE_S;
    const expS = iat + LIFETIME_S;
    const iss = /^[0-9]+$/.test(this.#appId) ? Number(this.#appId) : this.#appId;
    const unsigned = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ iat, exp: expS, iss })}`;
    const signature = createSign('RSA-SHA256').update(unsigned).sign(this.#privateKeyPem);
    const jwt = `${unsigned}.${signature.toString('base64url')}`;

    if (skewS === 0) this.#cached = { jwt, expS, offsetMs: this.#clock.offsetMs };
    return { jwt, expiresAt: new Date(expS * 1000).toISOString() };
  }
}
