/**
 * The GitHub App provider against the GitHub-compatible fixture server with
 * injected faults: retries, rate limits, timeouts and clock skew.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import pino from 'pino';
import type { RequestContext } from '../../../daemon/provider.js';
import { GitHubAppProvider } from '../../../daemon/providers/github-app.js';
import type { RetryPolicy } from '../../../daemon/providers/github-retry.js';
import { normalizePrivateKey } from '../../../daemon/providers/private-key.js';
import { createTestApp } from '../../fixtures/app-keys.js';
import { GitHubFixture } from '../../fixtures/github-server.js';

const MINT = /\/app\/installations\/\d+\/access_tokens$/;
// Short backoff, but a per-attempt timeout generous enough that a loaded
// machine never turns an answered call into a retry (and a second mint).
const FAST: Partial<RetryPolicy> = {
  baseDelayMs: 5,
  attemptTimeoutMs: 5000,
  totalBudgetMs: 15_000,
};

const context: RequestContext = {
  requestId: 'r',
  requester: { pid: 1, ppid: 0 },
  log: pino({ level: 'silent' }),
};
const target = { protocol: 'http', host: 'ignored', path: 'acme/widgets' };

async function world(t: Test, retry: Partial<RetryPolicy> = FAST) {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-faults-'));
  const app = await createTestApp(dir, { sharedKey: true });
  const clock = { offsetMs: 0 };
  const github = await GitHubFixture.start({
    apps: [{ id: app.appId, publicKey: app.publicKey }],
    installations: [
      {
        id: 77,
        appId: app.appId,
        account: 'acme',
        repositories: ['widgets'],
        permissions: { contents: 'write' },
      },
    ],
    reposDir: join(dir, 'repos'),
    now: () => Date.now() + clock.offsetMs,
  });
  t.teardown(async () => {
    await github.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const provider = new GitHubAppProvider(
    {
      appId: String(app.appId),
      privateKeyPath: app.privateKeyPath,
      privateKeyPem: normalizePrivateKey(app.privateKeyPem, 'test key'),
      apiBaseUrl: github.apiUrl,
      permissions: { contents: 'write' },
      retry,
    },
    { log: pino({ level: 'silent' }), now: Date.now },
  );
  const mintAttempts = () =>
    github.requests.filter((r) => r.method === 'POST' && MINT.test(r.path)).length;
  const get = async () => {
    const scope = await provider.resolveScope(target, {}, context);
    return provider.getCredential(target, scope, context);
  };
  return { github, provider, clock, mintAttempts, get };
}

t.test('retries a mint that failed with 5xx and returns the token', async (t) => {
  const { github, mintAttempts, get } = await world(t);
  github.injectFault({ method: 'POST', path: MINT, status: 502, times: 2 });

  const credential = await get();

  t.equal(mintAttempts(), 3);
  t.equal(github.mintCount, 1);
  t.equal(credential.secret, github.mints[0]!.token);
});

t.test('gives up after a bounded number of attempts with a GitHub error', async (t) => {
  const { github, mintAttempts, get } = await world(t, { ...FAST, maxAttempts: 3 });
  github.injectFault({ method: 'POST', path: MINT, status: 503, times: Infinity });

  await t.rejects(get(), { code: 'GITHUB_API', message: /503/ });
  t.equal(mintAttempts(), 3);
});

t.test('honours retry-after on a 429 and then mints', async (t) => {
  const { github, mintAttempts, get } = await world(t);
  github.injectFault({ method: 'POST', path: MINT, status: 429, headers: { 'retry-after': '1' } });

  await get();

  t.equal(mintAttempts(), 2);
  t.equal(github.mintCount, 1);
});

t.test('waits for x-ratelimit-reset on a rate-limited 403 and then mints', async (t) => {
  const { github, mintAttempts, get } = await world(t);
  const reset = String(Math.floor(Date.now() / 1000) + 1);
  github.injectFault({
    method: 'POST',
    path: MINT,
    status: 403,
    headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
    body: { message: 'API rate limit exceeded' },
  });

  await get();

  t.equal(mintAttempts(), 2);
});

t.test('does not wait out a rate limit beyond the cap and says when to retry', async (t) => {
  const { github, mintAttempts, get } = await world(t);
  github.injectFault({
    method: 'POST',
    path: MINT,
    status: 429,
    headers: { 'retry-after': '3600' },
  });

  await t.rejects(get(), { code: 'GITHUB_API', message: /retry after 3600 s/ });
  t.equal(mintAttempts(), 1);
});

t.test('does not retry a 422 or a 404', async (t) => {
  const { github, mintAttempts, get } = await world(t);
  github.injectFault({ method: 'POST', path: MINT, status: 422 });
  github.injectFault({ method: 'POST', path: MINT, status: 404 });

  await t.rejects(get(), { code: 'DENIED' });
  await t.rejects(get(), { code: 'GITHUB_API' });
  t.equal(mintAttempts(), 2);
});

t.test('abandons a call that hangs past its timeout and retries it', async (t) => {
  const { github, get } = await world(t, { ...FAST, attemptTimeoutMs: 1000 });
  github.injectFault({ method: 'POST', path: MINT, status: 0, delayMs: 10_000 });

  const credential = await get();

  t.ok(github.issuedTokens().includes(credential.secret));
});

t.test('a call that always hangs fails with a timeout, not forever', async (t) => {
  const { github, get } = await world(t, { ...FAST, attemptTimeoutMs: 200, maxAttempts: 2 });
  github.injectFault({ method: 'POST', path: MINT, status: 0, delayMs: 60_000, times: Infinity });

  await t.rejects(get(), { code: 'GITHUB_API', message: /timed out|did not answer/ });
});

t.test('corrects clock skew from the Date header on the mint path', async (t) => {
  const { github, clock, provider, mintAttempts } = await world(t);
  const scope = await provider.resolveScope(target, {}, context);

  clock.offsetMs = 2 * 60 * 60 * 1000;
  const credential = await provider.getCredential(target, scope, context);

  t.equal(mintAttempts(), 2, 'one refusal of the JWT times, then a mint');
  t.equal(github.mintCount, 1);
  const lifeMs = credential.expiresAtMs - Date.now();
  t.ok(lifeMs > 55 * 60_000 && lifeMs <= 60 * 60_000, 'expiry is in local time');
});

t.test('a skewed clock is learnt before the installation lookup too', async (t) => {
  const { github, clock, get } = await world(t);
  clock.offsetMs = -3 * 60 * 60 * 1000;

  const credential = await get();

  t.equal(github.mintCount, 1);
  t.ok(github.issuedTokens().includes(credential.secret));
});
