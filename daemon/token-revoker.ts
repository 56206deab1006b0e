/**
 * Remembers the credentials this daemon minted until they expire, so it can
 * revoke them: those git erases, and every one still live at shutdown when
 * the config asks for it. A revocation that fails is tried again at
 * shutdown in any case. The list lives in memory only; tokens minted by a
 * daemon that crashed expire on their own within the hour.
 */
import type { Logger } from 'pino';
import { toBrokerError } from '../shared/errors.js';
import type { Requester } from '../shared/protocol.js';
import type { AuditLog } from './audit-log.js';
import { AUDIT_EVENTS, type AuditRecord } from './audit-line.js';
import type { CredentialEnvelope, ResolvedScope } from './provider.js';
import type { Integration } from './provider-registry.js';
import { envelopeFingerprint } from './token-cache.js';

/**
 * One minted credential, with what its audit records need. The ledger keeps
 * the object it is given, sharing scope and envelope with the cache entry: a
 * daemon holds one of these for every live token (10,000 scopes, 10,000
 * records), so nothing here is copied or derived ahead of need.
 */
export interface IssuedCredential {
  integration: Integration;
  scope: ResolvedScope;
  /** The request's target, described as audit records show it. */
  target: string;
  envelope: CredentialEnvelope;
  /**
   * Who the token was minted for: the audit line of a token upstream
   * revoked names them (and the token's socket, scope.listener), not the
   * request, perhaps on another socket, that found it out.
   */
  requester: Requester;
}

/** Who caused a revocation, for its audit record. */
export interface RevocationCause {
  reason: 'erase' | 'shutdown';
  requestId: string;
  requester: Requester;
  listener: string | null;
  log: Logger;
  /**
   * Ends the wait for the provider (the daemon's shutdown ran out of
   * time): a revocation not confirmed by then is audited as failed, with
   * the signal's reason (a BrokerError), and the provider's call aborted.
   */
  signal?: AbortSignal;
}

/** A token whose revocation was not confirmed, as logs may name it: never the token. */
export interface UnrevokedToken {
  repository: string;
  installation: string | number | null;
  tokenSha256: string;
  expiresAt: string;
}

/** What a round of revocations came to. */
export interface RevocationSummary {
  revoked: number;
  /** Chosen, and not confirmed: refused, failed, or not in time. */
  unrevoked: UnrevokedToken[];
}

type RevocationResult = 'revoked' | 'failed' | 'not revocable';

/**
 * Revocations in flight at once. All at once, 1500 tokens at shutdown
 * opened 1500 sockets: past `ulimit -n` (often 1024) they failed with
 * EMFILE and were lost (found in review). 16 keeps a shutdown well within
 * the default limit beside 256 client connections, and still revokes ~1000
 * tokens within the shutdown budget at GitHub's usual ~100-300 ms a call.
 */
export const REVOCATION_CONCURRENCY = 16;

export class TokenRevoker {
  readonly #audit: AuditLog;
  readonly #now: () => number;
  // TODO: revoke after a crash too, once this list survives a restart.
  readonly #issued = new Set<IssuedCredential>();
  /** Chosen for revocation: the cache must never serve these again. */
  readonly #revoked = new WeakSet<CredentialEnvelope>();
  /**
   * Revocations GitHub did not confirm (it failed, or could not be reached):
   * tried again by a later revocation that chooses them and at shutdown
   * (found in review: a failed erase-time revocation was never retried).
   */
  readonly #failed = new Set<IssuedCredential>();
  /** The earliest expiry tracked: nothing needs pruning before it. */
  #pruneAtMs = Number.POSITIVE_INFINITY;

  constructor(options: { audit: AuditLog; now?: () => number }) {
    this.#audit = options.audit;
    this.#now = options.now ?? Date.now;
  }

  /** Credentials minted and not yet expired or revoked. */
  get size(): number {
    this.#prune();
    return this.#issued.size;
  }

  track(issued: IssuedCredential): void {
    this.#prune();
    this.#issued.add(issued);
    this.#pruneAtMs = Math.min(this.#pruneAtMs, issued.envelope.expiresAtMs);
  }

  /** Revokes every tracked credential the predicate accepts; returns how many. */
  async revokeWhere(
    accept: (issued: IssuedCredential) => boolean,
    cause: RevocationCause,
  ): Promise<number> {
    return (await this.#revokeChosen(accept, cause)).revoked;
  }

  /**
   * True once a credential was chosen for revocation (before GitHub has
   * answered): an erase that raced a mint may revoke a token the mint then
   * cached, and the cache asks this before serving an entry.
   */
  isRevoked(envelope: CredentialEnvelope): boolean {
    return this.#revoked.has(envelope);
  }

  /** Revokes every tracked credential: what the daemon does at shutdown with revokeOnShutdown. */
  revokeAll(cause: RevocationCause): Promise<RevocationSummary> {
    return this.#revokeChosen(() => true, cause);
  }

  /**
   * Forgets the tracked credentials `accept` chooses, which upstream revoked
   * on its own (their GitHub App installation was removed): none is served
   * again, and none is sent a revocation that could only answer 401. Each is
   * audited as revoked, outcome 'expired' (it no longer works), with `reason`,
   * the request id of `cause` (the request that found it out) and the
   * listener and requester each token was minted for: an installation's
   * tokens span sockets, and the finding request's socket is not theirs.
   * Returns how many.
   */
  async forgetRevokedUpstream(
    accept: (issued: IssuedCredential) => boolean,
    cause: { reason: string; requestId: string },
  ): Promise<number> {
    const chosen = [...this.#issued, ...this.#failed].filter(accept);
    for (const issued of chosen) {
      this.#issued.delete(issued);
      this.#failed.delete(issued);
      this.#revoked.add(issued.envelope);
    }
    const nowMs = this.#now();
    for (const issued of chosen) {
      if (issued.envelope.expiresAtMs <= nowMs) continue;
      const mintedFor = {
        requestId: cause.requestId,
        requester: issued.requester,
        listener: issued.scope.listener ?? null,
      };
      await this.#audit.record(AUDIT_EVENTS.revoked, {
        ...auditBase(issued, mintedFor, 0),
        outcome: 'expired',
        reason: cause.reason,
      });
    }
    return chosen.length;
  }

  /** Whether a revocation of this credential was tried and failed. */
  hasFailed(issued: IssuedCredential): boolean {
    return this.#failed.has(issued);
  }

  /** Revocations that failed earlier and whose tokens are still live. */
  get failedCount(): number {
    const nowMs = this.#now();
    return [...this.#failed].filter((issued) => issued.envelope.expiresAtMs > nowMs).length;
  }

  /**
   * Tries the failed revocations again: what the daemon does at shutdown
   * even without revokeOnShutdown, since each was asked for (by an erase).
   */
  retryFailed(cause: RevocationCause): Promise<RevocationSummary> {
    return this.#revokeChosen((issued) => this.#failed.has(issued), cause);
  }

  async #revokeChosen(
    accept: (issued: IssuedCredential) => boolean,
    cause: RevocationCause,
  ): Promise<RevocationSummary> {
    const nowMs = this.#now();
    for (const issued of this.#failed) {
      if (issued.envelope.expiresAtMs <= nowMs) this.#failed.delete(issued);
    }
    const chosen = [...this.#issued, ...this.#failed].filter(accept);
    for (const issued of chosen) {
      this.#issued.delete(issued);
      this.#failed.delete(issued);
      this.#revoked.add(issued.envelope);
    }
    // One listener for the whole round, not one per token: a shutdown may
    // revoke thousands, and Node warns past ten listeners on a signal.
    const { signal } = cause;
    const abandoned =
      signal === undefined
        ? undefined
        : new Promise<never>((_, reject) => {
            if (signal.aborted) reject(signal.reason);
            else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          });
    abandoned?.catch(() => undefined);
    const results: RevocationResult[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      // A revocation not started once the signal aborts fails at once: the
      // queue drains within the shutdown budget, unrevoked ones audited.
      for (let i = next++; i < chosen.length; i = next++) {
        results[i] = await this.#revokeOne(chosen[i]!, cause, abandoned);
      }
    };
    const workers = Math.min(REVOCATION_CONCURRENCY, chosen.length);
    await Promise.all(Array.from({ length: workers }, worker));

    const summary: RevocationSummary = { revoked: 0, unrevoked: [] };
    for (const [i, result] of results.entries()) {
      if (result === 'revoked') summary.revoked++;
      if (result === 'failed') summary.unrevoked.push(describe(chosen[i]!));
    }
    return summary;
  }

  /** Forgets expired credentials, scanning only once the earliest has expired. */
  #prune(): void {
    const nowMs = this.#now();
    if (nowMs < this.#pruneAtMs) return;

    this.#pruneAtMs = Number.POSITIVE_INFINITY;
    for (const issued of this.#issued) {
      const { expiresAtMs } = issued.envelope;
      if (expiresAtMs <= nowMs) this.#issued.delete(issued);
      else this.#pruneAtMs = Math.min(this.#pruneAtMs, expiresAtMs);
    }
  }

  async #revokeOne(
    issued: IssuedCredential,
    cause: RevocationCause,
    abandoned: Promise<never> | undefined,
  ): Promise<RevocationResult> {
    const startedMs = this.#now();
    const { provider } = issued.integration;
    const base = (): AuditRecord => ({
      ...auditBase(issued, cause, this.#now() - startedMs),
      reason: cause.reason,
    });
    if (provider.revoke === undefined) return 'not revocable';

    try {
      // Not even started once the time is up: a call would only be aborted.
      if (cause.signal?.aborted === true) throw cause.signal.reason;
      const context = { log: cause.log, ...(cause.signal ? { signal: cause.signal } : {}) };
      const revoking = provider.revoke(issued.envelope, context);
      // The provider is asked to stop, but the wait ends with the signal
      // whether it does or not.
      const outcome = await (abandoned ? Promise.race([revoking, abandoned]) : revoking);
      await this.#audit.record(AUDIT_EVENTS.revoked, { ...base(), outcome });
      return 'revoked';
    } catch (error) {
      const brokerError = toBrokerError(error);
      // Out of time: the caller reports those together, not one line each.
      if (error !== cause.signal?.reason) {
        cause.log.warn(
          { code: brokerError.code, reason: brokerError.message },
          'revocation failed',
        );
      }
      await this.#audit.record(AUDIT_EVENTS.failed, {
        ...base(),
        error: { code: brokerError.code, message: brokerError.message },
      });
      if (issued.envelope.expiresAtMs > this.#now()) this.#failed.add(issued);
      return 'failed';
    }
  }
}

/** The audit fields of a revocation of `issued`, less its outcome and reason. */
function auditBase(
  issued: IssuedCredential,
  cause: Pick<RevocationCause, 'requestId' | 'requester' | 'listener'>,
  durationMs: number,
): AuditRecord {
  return {
    requestId: cause.requestId,
    integration: issued.integration.config.name,
    provider: issued.integration.provider.kind,
    target: issued.target,
    repository: issued.scope.repository,
    installation: issued.scope.metadata.installationId ?? null,
    permissions: issued.envelope.granted.permissions,
    expiresAt: new Date(issued.envelope.expiresAtMs).toISOString(),
    durationMs,
    requester: cause.requester,
    listener: cause.listener,
    tokenSha256: envelopeFingerprint(issued.envelope),
  };
}

function describe(issued: IssuedCredential): UnrevokedToken {
  return {
    repository: issued.scope.repository,
    installation: issued.scope.metadata.installationId ?? null,
    tokenSha256: envelopeFingerprint(issued.envelope),
    expiresAt: new Date(issued.envelope.expiresAtMs).toISOString(),
  };
}
