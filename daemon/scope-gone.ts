/**
 * How a provider's getCredential says that the scope it was handed no longer
 * exists upstream (a GitHub App installation was removed, perhaps installed
 * again under a new id), as opposed to a refusal that would stand: the error
 * it throws is marked with the metadata of the scope that is gone. The core
 * then drops the credentials issued under that metadata (upstream revoked
 * them with it), resolves the request's scope once more and, when that
 * names another scope, mints under it in the same request.
 */
import type { BrokerError } from '../shared/errors.js';

/** What is gone: every credential whose scope metadata holds all of these. */
export interface GoneScope {
  metadata: Readonly<Record<string, string | number>>;
  /** Why, for the audit lines of the credentials dropped with it ('installation_removed'). */
  reason: string;
}

const goneScopes = new WeakMap<BrokerError, GoneScope>();

/** Marks `error` as saying that `gone` no longer exists upstream; returns it. */
export function markScopeGone(error: BrokerError, gone: GoneScope): BrokerError {
  goneScopes.set(error, gone);
  return error;
}

/** The scope `error` says is gone, or undefined for any other failure. */
export function goneScopeOf(error: unknown): GoneScope | undefined {
  return typeof error === 'object' && error !== null
    ? goneScopes.get(error as BrokerError)
    : undefined;
}

/** Whether a credential issued under `metadata` belongs to the gone scope. */
export function isUnderGoneScope(
  metadata: Readonly<Record<string, string | number>>,
  gone: GoneScope,
): boolean {
  return Object.entries(gone.metadata).every(([key, value]) => metadata[key] === value);
}
