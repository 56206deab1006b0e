/**
 * Refresh-ahead runs in the background: nothing after its mint may take the
 * daemon down. Found in review: an audit line that threw there (a provider's
 * expiry Date could not format) was an unhandled rejection, and Node exited.
 */
import t from 'tap';
import { MintCoordinator } from '../../daemon/mint-coordinator.js';
import type { RequestContext, ResolvedScope } from '../../daemon/provider.js';
import { TokenCache, type CachedCredential } from '../../daemon/token-cache.js';
import { capturedLog } from '../fixtures/captured-log.js';
import { StubProvider, stubIntegrationConfig } from '../fixtures/stub-provider.js';

t.test('a refresh whose follow-up throws is logged, and the daemon carries on', async (t) => {
  const nowMs = 1_700_000_000_000;
  const { log, text: logged } = capturedLog();

  const provider = new StubProvider(() => nowMs);
  const integration = { config: stubIntegrationConfig(), provider };
  const cache = new TokenCache({ now: () => nowMs, log });
  const coordinator = new MintCoordinator({ cache, now: () => nowMs });
  const scope: ResolvedScope = {
    cacheKey: 'k',
    repository: 'acme/widgets',
    permissions: {},
    metadata: {},
  };
  const target = { protocol: 'https', host: 'git.example', path: 'acme/widgets' };
  const context: RequestContext = { requestId: 'r', requester: { pid: 1, ppid: 0 }, log };
  const hit: CachedCredential = {
    integration: 'stub-int',
    scope,
    envelope: {
      secret: 'old',
      username: 'u',
      expiresAtMs: nowMs + 60_000,
      granted: { repositories: ['acme/widgets'], permissions: {} },
      metadata: {},
    },
    staleAtMs: nowMs + 30_000,
    refreshAtMs: nowMs - 1,
  };

  coordinator.refreshAhead(hit, integration, target, scope, context, () => {
    throw new RangeError('Invalid time value');
  });
  await coordinator.drain();

  t.equal(provider.mints, 1, 'the refresh minted');
  t.ok((await cache.get('k')) !== undefined, 'and its token is cached');
  t.match(logged(), /recording a token refreshed ahead of time failed/);
});
