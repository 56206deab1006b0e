/**
 * In-memory credential cache on keyv. Entries go stale at a time computed
 * from the integration's TTL and the credential's own expiry; the cache
 * checks staleness against its own clock, so keyv's TTL is only a backstop
 * that frees memory.
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

/** SHA-256 of a secret: what the audit log records instead of the secret. */
export function fingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex')}`;
}

export class TokenCache {
  readonly #store: Keyv<CachedCredential>;
  // keyv cannot list a Map store's keys portably; erase and status need them.
  readonly #keys = new Set<string>();
  readonly #now: () => number;

  constructor(options: { now?: () => number; log: Logger }) {
    this.#now = options.now ?? Date.now;
    this.#store = new Keyv<CachedCredential>({ store: new Map() });
    // Keep entries as objects: nothing leaves the process, so there is
    // nothing to gain from a JSON round trip on every hit.
    this.#store.serialize = undefined;
    this.#store.deserialize = undefined;
    this.#store.on('error', (error: unknown) => {
      options.log.error({ err: error }, 'token cache error');
    });
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The entry for `key` if it is still fresh; drops it once stale. */
  async get(key: string): Promise<CachedCredential | undefined> {
    const entry = await this.#store.get(key);
    if (entry === undefined) {
      this.#keys.delete(key);
      return undefined;
    }
    if (entry.staleAtMs <= this.#now()) {
      await this.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Stores an entry until its `staleAtMs`; a stale entry is not stored. */
  async set(key: string, entry: CachedCredential): Promise<boolean> {
    const ttlMs = entry.staleAtMs - this.#now();
    if (ttlMs <= 0) return false;

    await this.#store.set(key, entry, ttlMs);
    this.#keys.add(key);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#keys.delete(key);
    await this.#store.delete(key);
  }

  /** Every fresh entry, for `status`. */
  async entries(): Promise<CachedCredential[]> {
    const entries: CachedCredential[] = [];
    for (const key of [...this.#keys]) {
      const entry = await this.get(key);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  /** Deletes every entry the predicate accepts; returns what was deleted. */
  async deleteWhere(accept: (entry: CachedCredential) => boolean): Promise<CachedCredential[]> {
    const deleted: CachedCredential[] = [];
    for (const key of [...this.#keys]) {
      const entry = await this.#store.get(key);
      if (entry !== undefined && accept(entry)) {
        deleted.push(entry);
        await this.delete(key);
      } else if (entry === undefined) {
        this.#keys.delete(key);
      }
    }
    return deleted;
  }
}
