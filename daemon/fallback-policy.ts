/**
 * When the daemon may hand out a cached credential after minting failed:
 * only when the upstream service itself failed (down, slow, rate limiting),
 * never when it refused for good, and only a credential with enough life
 * left for git to finish a clone or push with it.
 */
import type { BrokerError } from '../shared/errors.js';

/** A fallback credential must have at least this much life left. */
export const FALLBACK_MIN_LIFE_MS = 60 * 1000;

/** True for failures a cached credential may paper over. */
export function isUpstreamFailure(error: BrokerError): boolean {
  // `quit` marks answers that will not change (4xx other than rate limits).
  return error.code === 'GITHUB_API' && !error.quit;
}
