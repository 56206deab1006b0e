/**
 * Revokes an installation token before it expires: `DELETE
 * /installation/token`, authenticated with the token itself. A token GitHub
 * no longer accepts (expired, revoked before) counts as revoked.
 */
import type { request as octokitRequest } from '@octokit/request';
import type { CredentialEnvelope, RevokeOutcome } from '../provider.js';
import { githubStatus, mapGitHubError, type GitHubCallContext } from './github-errors.js';

export async function revokeInstallationToken(
  request: typeof octokitRequest,
  envelope: CredentialEnvelope,
  nowMs: number,
  context: GitHubCallContext,
  signal?: AbortSignal,
): Promise<RevokeOutcome> {
  if (envelope.expiresAtMs <= nowMs) return 'expired';

  try {
    await request('DELETE /installation/token', {
      headers: { authorization: `token ${envelope.secret}` },
      // Ends the call and its retries, waits included (github-retry.ts).
      ...(signal === undefined ? {} : { request: { signal } }),
    });
    return 'revoked';
  } catch (error) {
    // 401 "Bad credentials": the token stopped working already.
    if (githubStatus(error) === 401) return 'expired';
    throw mapGitHubError(error, context);
  }
}
