import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from '@octokit/request';
import pino from 'pino';
import t, { type Test } from 'tap';
import { GitHubClock } from '../../../daemon/providers/github-clock.js';
import { revokeInstallationToken } from '../../../daemon/providers/github-revoke.js';
import { createRetryingFetch } from '../../../daemon/providers/github-retry.js';

// Made at test time, like every secret a test uses.
const TOKEN = `ghs_${randomBytes(18).toString('hex')}`;
const NOW = 1_700_000_000_000;

/** A server answering `status`; 0: one that never answers. */
async function stub(t: Test, status: number) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    if (status === 0) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status === 204 ? '' : JSON.stringify({ message: 'Bad credentials' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3`;
  return { seen, baseUrl, request: request.defaults({ baseUrl }) };
}

const envelope = (expiresAtMs: number) => ({
  secret: TOKEN,
  username: 'x-access-token',
  expiresAtMs,
  granted: { repositories: ['acme/widgets'], permissions: {} },
  metadata: {},
});

const context = (apiBaseUrl: string) => ({
  action: 'revoking an installation token',
  appId: '1',
  privateKeyPath: '/k.pem',
  apiBaseUrl,
});

t.test('revokes with DELETE /installation/token authenticated by the token', async (t) => {
  const { seen, baseUrl, request } = await stub(t, 204);

  const outcome = await revokeInstallationToken(
    request,
    envelope(NOW + 1000),
    NOW,
    context(baseUrl),
  );

  t.equal(outcome, 'revoked');
  t.same(seen, [`DELETE /api/v3/installation/token token ${TOKEN}`]);
});

t.test('an expired token counts as revoked without calling GitHub', async (t) => {
  const { seen, baseUrl, request } = await stub(t, 204);

  const outcome = await revokeInstallationToken(request, envelope(NOW), NOW, context(baseUrl));

  t.equal(outcome, 'expired');
  t.same(seen, []);
});

t.test('a token GitHub no longer accepts counts as revoked', async (t) => {
  const { baseUrl, request } = await stub(t, 401);

  t.equal(
    await revokeInstallationToken(request, envelope(NOW + 1000), NOW, context(baseUrl)),
    'expired',
  );
});

t.test('any other refusal is an error that does not carry the token', async (t) => {
  const { baseUrl, request } = await stub(t, 503);

  const error = await revokeInstallationToken(
    request,
    envelope(NOW + 1000),
    NOW,
    context(baseUrl),
  ).catch((e: unknown) => e as Error);

  t.match(error, { code: 'GITHUB_API' });
  t.notMatch(String((error as Error).message), TOKEN);
});

/** Retries as the provider's do, with a backoff far longer than any test. */
function slowRetrying() {
  return createRetryingFetch(
    { clock: new GitHubClock(), log: pino({ level: 'silent' }), random: () => 1 },
    {
      maxAttempts: 4,
      baseDelayMs: 8000,
      maxDelayMs: 10_000,
      attemptTimeoutMs: 10_000,
      totalBudgetMs: 25_000,
    },
  );
}

t.test("an aborted revocation ends at once, in a call or in a retry's backoff", async (t) => {
  const retrying = slowRetrying();
  for (const [status, what] of [
    [0, 'a GitHub that never answers'],
    [503, 'a GitHub failing, retried after a backoff'],
  ] as const) {
    const { seen, baseUrl } = await stub(t, status);
    const limit = new AbortController();
    setTimeout(() => limit.abort(new Error('out of time')), 200);
    const startedMs = Date.now();

    const error = await revokeInstallationToken(
      request.defaults({ baseUrl, request: { fetch: retrying } }),
      envelope(NOW + 1000),
      NOW,
      context(baseUrl),
      limit.signal,
    ).catch((e: unknown) => e as Error);

    t.ok(Date.now() - startedMs < 2000, `${what}: ended soon after the abort`);
    t.match(error, { code: 'GITHUB_API' }, what);
    t.equal(seen.length, 1, `${what}: not tried again`);
  }
});

t.test('many revocations sharing one signal end with it, and Node warns of no leak', async (t) => {
  // A shutdown hands one signal to every revocation: listening on it once
  // per call, in the retry's backoff, made Node warn of a listener leak.
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning.name);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const retrying = slowRetrying();
  const { seen, baseUrl } = await stub(t, 503);
  const limit = new AbortController();
  const revoke = (): Promise<unknown> =>
    revokeInstallationToken(
      request.defaults({ baseUrl, request: { fetch: retrying } }),
      envelope(NOW + 1000),
      NOW,
      context(baseUrl),
      limit.signal,
    ).catch((e: unknown) => e);

  const all = Promise.all(Array.from({ length: 20 }, revoke));
  while (seen.length < 20) await new Promise((resolve) => setTimeout(resolve, 10));
  limit.abort(new Error('out of time'));
  const errors = await all;
  await new Promise((resolve) => setImmediate(resolve));

  t.equal(errors.length, 20);
  t.match(errors, Array(20).fill({ code: 'GITHUB_API' }));
  t.same(warnings, []);
});
