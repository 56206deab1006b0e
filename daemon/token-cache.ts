/**
 * In-memory credential cache on keyv. An entry has three moments: it is
 * refreshed ahead from `refreshAtMs`, stops being served normally at
 * `staleAtMs` (the integration's TTL, or its expiry minus the minimum life a
 * client must get), and is dropped when the credential itself expires.
 * Between stale and expired it is kept only as a fallback for when the
 * upstream service fails. The cache checks these against its own clock, so
 * keyv's TTL is only a backstop that frees memory.
 */
import { createHash } from 'node:crypto';
import Keyv from 'keyv';
import type { Logger } from 'pino';
import type { CredentialEnvelope, ResolvedScope } from './provider.js';

export interface CachedCredential {
  integration: string;
  scope: ResolvedScope;
  envelope: CredentialEnvelope;
  /** When the daemon stops serving this entry, ms since the epoch. */
  staleAtMs: number;
  /** From when a hit also starts a refresh in the background; none if absent. */
  refreshAtMs?: number;
}

export interface CacheLifetime {
  nowMs: number;
  expiresAtMs: number;
  ttlMs: number;
  minLifeMs: number;
}

/**
 * When a credential minted now stops being served: after the integration's
 * TTL, and never later than its expiry minus the minimum life a client must
 * get. A result at or before `nowMs` means "do not cache".
 */
export function staleAtMs({ nowMs, expiresAtMs, ttlMs, minLifeMs }: CacheLifetime): number {
  return Math.min(nowMs + ttlMs, expiresAtMs - minLifeMs);
}

/** Longest refresh-ahead window, before an entry's stale time. */
export const REFRESH_AHEAD_MAX_MS = 5 * 60 * 1000;

/**
 * When a hit should start minting a successor in the background, so that
 * the next request after `staleAt` is still a hit: five minutes before it
 * goes stale, or half-way through a shorter serving window.
 */
export function refreshAtMs(nowMs: number, staleAt: number): number {
  return staleAt - Math.min(REFRESH_AHEAD_MAX_MS, Math.max(0, staleAt - nowMs) / 2);
}

/** SHA-256 of a secret: what the audit log records instead of the secret. */
export function fingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex')}`;
}

const envelopeFingerprints = new WeakMap<CredentialEnvelope, string>();

/**
 * The fingerprint of an envelope's secret, worked out once per envelope and
 * kept while the envelope lives: every cache hit's audit line carries it.
 */
export function envelopeFingerprint(envelope: CredentialEnvelope): string {
  let sha = envelopeFingerprints.get(envelope);
  if (sha === undefined) {
    sha = fingerprint(envelope.secret);
    envelopeFingerprints.set(envelope, sha);
  }
  return sha;
}

export class TokenCache {
  readonly #store: Keyv<CachedCredential>;
  // keyv's backing Map, kept to list keys for erase and status. It is ours
  // alone and unprefixed, so its keys are the cache's keys: no second set of
  // them to keep in step (and pay for) beside it.
  readonly #map = new Map<string, unknown>();
  readonly #now: () => number;

  constructor(options: { now?: () => number; log: Logger }) {
    this.#now = options.now ?? Date.now;
    // No namespace prefix, so no second copy of every key.
    this.#store = new Keyv<CachedCredential>({ store: this.#map, useKeyPrefix: false });
    // Keep entries as objects: nothing leaves the process, so there is
    // nothing to gain from a JSON round trip on every hit.
    this.#store.serialize = undefined;
    this.#store.deserialize = undefined;
    this.#store.on('error', (error: unknown) => {
      options.log.error({ err: error }, 'token cache error');
    });
  }

  get size(): number {
    return this.#map.size;
  }

  /** The entry for `key` if it is still fresh (before its stale time). */
  async get(key: string): Promise<CachedCredential | undefined> {
    return this.getNow(key);
  }

  /**
   * get() without a promise, for the hit path: the store is an in-memory
   * Map of ours, so keyv's entry (`{ value, expires }`) is there to read at
   * once. keyv's get is async for the sake of remote stores, and its await
   * and ours cost a cache hit 6-9 µs of CPU at 8 and 64 clients. The entry
   * is checked against our own clock: keyv's `expires` is never earlier than
   * the stale time checked here.
   */
  getNow(key: string): CachedCredential | undefined {
    const entry = (this.#map.get(key) as { value: CachedCredential } | undefined)?.value;
    if (entry === undefined) return undefined;
    const nowMs = this.#now();
    if (entry.envelope.expiresAtMs <= nowMs) {
      // keyv's Map delete happens before its first await.
      void this.delete(key);
      return undefined;
    }
    return entry.staleAtMs > nowMs ? entry : undefined;
  }

  /**
   * The entry for `key`, fresh or stale, if its credential still has more
   * than `minLifeMs` of life: what may be served when minting a new one failed.
   */
  async getFallback(key: string, minLifeMs: number): Promise<CachedCredential | undefined> {
    const entry = await this.#live(key);
    if (entry === undefined || entry.envelope.expiresAtMs - this.#now() <= minLifeMs) {
      return undefined;
    }
    return entry;
  }

  /**
   * Stores an entry until its credential expires (kept past `staleAtMs` only
   * as a fallback); an entry that is already stale is not stored.
   */
  async set(key: string, entry: CachedCredential): Promise<boolean> {
    const nowMs = this.#now();
    if (entry.staleAtMs <= nowMs) return false;

    await this.#store.set(
      key,
      entry,
      Math.max(entry.envelope.expiresAtMs, entry.staleAtMs) - nowMs,
    );
    return true;
  }

  /** The stored entry unless its credential has expired; drops an expired one. */
  async #live(key: string): Promise<CachedCredential | undefined> {
    const entry = await this.#store.get(key);
    if (entry === undefined) return undefined;
    if (entry.envelope.expiresAtMs <= this.#now()) {
      await this.delete(key);
      return undefined;
    }
    return entry;
  }

  async delete(key: string): Promise<void> {
    await this.#store.delete(key);
  }

  /** Every fresh entry, for `status`. */
  async entries(): Promise<CachedCredential[]> {
    const entries: CachedCredential[] = [];
    for (const key of [...this.#map.keys()]) {
      const entry = await this.get(key);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  /** Deletes every entry the predicate accepts; returns what was deleted. */
  async deleteWhere(accept: (entry: CachedCredential) => boolean): Promise<CachedCredential[]> {
    const deleted: CachedCredential[] = [];
    for (const key of [...this.#map.keys()]) {
      const entry = await this.#store.get(key);
      if (entry !== undefined && accept(entry)) {
        deleted.push(entry);
        await this.delete(key);
      }
    }
    return deleted;
  }
}
