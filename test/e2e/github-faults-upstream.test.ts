/**
 * GitHub failing under a running daemon, end to end with injected faults.
 * The retry policy itself is tested in test/daemon/providers/.
 */
import t, { type Test } from 'tap';
import { createBrokerWorld, type BrokerWorld, helperGet } from '../fixtures/broker-world.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';

const MINT = /\/access_tokens$/;

async function world(t: Test, integration: Record<string, unknown>): Promise<BrokerWorld> {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false, integration });
  t.teardown(() => w.stop());
  return w;
}

t.test(
  'when GitHub fails and the stale cached token still has life, it is served and audited as a fallback',
  async (t) => {
    const w = await world(t, { cacheTtlSeconds: 1, maxAttempts: 2 });
    const first = await helperGet(w);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    w.github.injectFault({ method: 'POST', path: MINT, status: 503, times: Infinity });

    const second = await helperGet(w);

    t.equal(second.code, 0);
    t.equal(second.stdout, first.stdout, 'the same token as before');
    await w.daemon.stop();
    const records = await w.daemon.auditRecords();
    t.same(
      records.map((r) => r.event),
      ['token.minted', 'token.fallback'],
    );
    t.match(records[1], { error: { code: 'GITHUB_API' }, tokenSha256: records[0]!.tokenSha256 });
    t.match(w.daemon.output(), /serving the cached token as a fallback/);
    assertNoSecrets(
      t,
      { daemon: w.daemon.output(), audit: await w.daemon.auditText(), stderr: second.stderr },
      w.github.issuedTokens(),
    );
  },
);

t.test('a burst of 5xx from GitHub is retried and git gets its token', async (t) => {
  const w = await world(t, {});
  w.github.injectFault({ method: 'POST', path: MINT, status: 502, times: 2 });

  const result = await helperGet(w);

  t.equal(result.code, 0);
  t.match(result.stdout, /^password=ghs_/m);
  t.equal(w.github.mintCount, 1);
});

t.test('a GitHub that keeps failing gives git a clear error, not a hang', async (t) => {
  const w = await world(t, { maxAttempts: 2, requestTimeoutSeconds: 1 });
  w.github.injectFault({ method: 'POST', path: MINT, status: 0, delayMs: 60_000, times: Infinity });

  const result = await helperGet(w);

  t.equal(result.stdout.includes('password='), false);
  t.match(result.stderr, /GitHub .*(timed out|did not answer)/);
});
