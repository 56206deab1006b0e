/**
 * What the audit lines about one request share, the line for one that
 * failed, and the rule that no credential leaves unless its line was written.
 */
import { AuditLogError, type BrokerError } from '../shared/errors.js';
import type { CredentialTarget, EraseRequest, GetRequest } from '../shared/protocol.js';
import type { AuditLog } from './audit-log.js';
import { AUDIT_EVENTS, type AuditRecord } from './audit-line.js';
import type { RequestContext, ResolvedScope } from './provider.js';
import type { Integration } from './provider-registry.js';
import { MintLimitError } from './mint-limit.js';

/** The target as audit lines show it: protocol://host/path, as git asked. */
export function describeTarget(target: CredentialTarget): string {
  // join() builds one flat string; a template literal leaves a tree of
  // pieces (~3x the bytes), and the revocation ledger keeps one per token.
  return [target.protocol, '://', target.host, '/', target.path ?? ''].join('');
}

/**
 * The fields every audit line about a request carries, as far as the
 * request got (an integration, a scope).
 */
export function requestRecord(
  request: GetRequest | EraseRequest,
  context: RequestContext,
  startedMs: number,
  integration: Integration | undefined,
  scope: ResolvedScope | undefined,
  nowMs: number,
): AuditRecord {
  const installation = scope?.metadata.installationId;
  return {
    requestId: context.requestId,
    integration: integration?.config.name ?? null,
    provider: integration?.provider.kind ?? null,
    target: describeTarget(request.target),
    repository: scope?.repository ?? integration?.provider.repositoryOf?.(request.target) ?? null,
    installation: installation ?? null,
    permissions: scope?.permissions ?? null,
    expiresAt: null,
    durationMs: nowMs - startedMs,
    requester: request.requester,
    listener: context.policy?.name ?? null,
    tokenSha256: null,
  };
}

/**
 * For a credential about to be served: throws unless its audit line was
 * written, so that no credential leaves unrecorded.
 */
export function requireWritten(written: boolean): void {
  if (!written) {
    throw new AuditLogError(
      "the broker's audit log cannot be written, and it hands out no credential it cannot record",
      {
        hint: 'the daemon\'s log names the file and the error; free space or fix "auditLog", then retry',
      },
    );
  }
}

/**
 * Audits a request that was denied or failed, as far as it got. A host no
 * integration serves is not an event about a credential: nothing is written.
 */
export function recordFailure(
  audit: AuditLog,
  now: () => number,
  request: GetRequest | EraseRequest,
  context: RequestContext,
  startedMs: number,
  integration: Integration | undefined,
  scope: ResolvedScope | undefined,
  error: BrokerError,
): Promise<unknown> {
  if (error.code === 'NO_INTEGRATION') return Promise.resolve();
  const event = error.code === 'DENIED' ? AUDIT_EVENTS.denied : AUDIT_EVENTS.failed;
  return audit.record(event, {
    ...requestRecord(request, context, startedMs, integration, scope, now()),
    error: { code: error.code, message: error.message },
    ...(error instanceof MintLimitError ? { reason: error.reason } : {}),
  });
}
