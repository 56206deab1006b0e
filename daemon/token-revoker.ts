/**
 * Remembers the credentials this daemon minted until they expire, so it can
 * revoke them: those git erases, and every one still live at shutdown when
 * the config asks for it. The list lives in memory only; tokens minted by a
 * daemon that crashed expire on their own within the hour.
 */
import type { Logger } from 'pino';
import { toBrokerError } from '../shared/errors.js';
import type { Requester } from '../shared/protocol.js';
import { AUDIT_EVENTS, type AuditLog, type AuditRecord } from './audit-log.js';
import type { CredentialEnvelope, ResolvedScope } from './provider.js';
import type { Integration } from './provider-registry.js';
import { envelopeFingerprint } from './token-cache.js';

/** One minted credential, with what its audit records need. */
export interface IssuedCredential {
  integration: Integration;
  scope: ResolvedScope;
  target: string;
  envelope: CredentialEnvelope;
  tokenSha256: string;
}

/** Who caused a revocation, for its audit record. */
export interface RevocationCause {
  reason: 'erase' | 'shutdown';
  requestId: string;
  requester: Requester;
  listener: string | null;
  log: Logger;
}

export class TokenRevoker {
  readonly #audit: AuditLog;
  readonly #now: () => number;
  // TODO: revoke after a crash too, once this list survives a restart.
  readonly #issued = new Map<string, IssuedCredential>();

  constructor(options: { audit: AuditLog; now?: () => number }) {
    this.#audit = options.audit;
    this.#now = options.now ?? Date.now;
  }

  /** Credentials minted and not yet expired or revoked. */
  get size(): number {
    return this.#issued.size;
  }

  track(issued: Omit<IssuedCredential, 'tokenSha256'>): void {
    const nowMs = this.#now();
    for (const [key, known] of this.#issued) {
      if (known.envelope.expiresAtMs <= nowMs) this.#issued.delete(key);
    }
    const tokenSha256 = envelopeFingerprint(issued.envelope);
    this.#issued.set(tokenSha256, { ...issued, tokenSha256 });
  }

  /** Revokes every tracked credential the predicate accepts; returns how many. */
  async revokeWhere(
    accept: (issued: IssuedCredential) => boolean,
    cause: RevocationCause,
  ): Promise<number> {
    const chosen = [...this.#issued.values()].filter(accept);
    for (const issued of chosen) this.#issued.delete(issued.tokenSha256);
    const results = await Promise.all(chosen.map((issued) => this.#revokeOne(issued, cause)));
    return results.filter(Boolean).length;
  }

  revokeAll(cause: RevocationCause): Promise<number> {
    return this.revokeWhere(() => true, cause);
  }

  async #revokeOne(issued: IssuedCredential, cause: RevocationCause): Promise<boolean> {
    const startedMs = this.#now();
    const { provider } = issued.integration;
    const base = (): AuditRecord => ({
      requestId: cause.requestId,
      integration: issued.integration.config.name,
      provider: provider.kind,
      target: issued.target,
      repository: issued.scope.repository,
      installation: issued.scope.metadata.installationId ?? null,
      permissions: issued.envelope.granted.permissions,
      expiresAt: new Date(issued.envelope.expiresAtMs).toISOString(),
      durationMs: this.#now() - startedMs,
      requester: cause.requester,
      listener: cause.listener,
      tokenSha256: issued.tokenSha256,
      reason: cause.reason,
    });
    if (provider.revoke === undefined) return false;

    try {
      const outcome = await provider.revoke(issued.envelope, { log: cause.log });
      this.#audit.record(AUDIT_EVENTS.revoked, { ...base(), outcome });
      return true;
    } catch (error) {
      const brokerError = toBrokerError(error);
      cause.log.warn({ code: brokerError.code, reason: brokerError.message }, 'revocation failed');
      this.#audit.record(AUDIT_EVENTS.failed, {
        ...base(),
        error: { code: brokerError.code, message: brokerError.message },
      });
      return false;
    }
  }
}
