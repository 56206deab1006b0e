import { ProviderError } from '../shared/errors.js';
import type { CredentialEnvelope } from './provider.js';

/**
 * The furthest expiry a credential may claim. GitHub's tokens last an hour;
 * a year leaves room for any provider, while an expiry in microseconds (or
 * a date past what Date can hold) is caught as the mistake it is.
 */
const MAX_CREDENTIAL_LIFE_MS = 366 * 24 * 60 * 60 * 1000;

function describeExpiry(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `${ms} ms since the epoch` : date.toISOString();
}

/**
 * Every provider's credential passes these checks before it is cached or
 * served: one that git cannot use fails this request, not every later one.
 */
export function checkEnvelope(
  envelope: CredentialEnvelope,
  integration: string,
  nowMs: number,
): void {
  const problem =
    typeof envelope.secret !== 'string' || !/^[^\r\n\0]{1,8192}$/.test(envelope.secret)
      ? 'no usable secret'
      : typeof envelope.username !== 'string' || /[\r\n\0]/.test(envelope.username)
        ? 'no usable username'
        : !Number.isFinite(envelope.expiresAtMs) || envelope.expiresAtMs <= nowMs
          ? 'an expiry that is invalid or already past'
          : envelope.expiresAtMs > nowMs + MAX_CREDENTIAL_LIFE_MS
            ? `an expiry more than a year away (${describeExpiry(envelope.expiresAtMs)}); a credential may claim a year at most`
            : undefined;
  if (problem !== undefined) {
    throw new ProviderError(`integration '${integration}' produced a credential with ${problem}`);
  }
}
