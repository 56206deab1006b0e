/**
 * A proxy's answer to CONNECT is never taken for GitHub's: its 403 is not
 * GitHub refusing, its 404 not an App that is not installed, its 401 not a
 * token already revoked. Real refusals from a CONNECT proxy on loopback,
 * judged both as @octokit/request wraps them and as a bare error (which
 * code could meet if a later release stopped wrapping).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import type { request as octokitRequest } from '@octokit/request';
import type { CredentialEnvelope, RequestContext } from '../../../daemon/provider.js';
import { GitHubAppProvider } from '../../../daemon/providers/github-app.js';
import { githubStatus, mapGitHubError } from '../../../daemon/providers/github-errors.js';
import { revokeInstallationToken } from '../../../daemon/providers/github-revoke.js';
import { createHttpFetch } from '../../../daemon/providers/http-fetch.js';
import { parseProxyUrl } from '../../../daemon/providers/proxy-env.js';
import { normalizePrivateKey } from '../../../daemon/providers/private-key.js';
import { createTestApp } from '../../fixtures/app-keys.js';
import { startOrigin, startProxy, type ProxyFixture } from '../../fixtures/connect-proxy.js';
import { GitHubFixture } from '../../fixtures/github-server.js';

const callContext = {
  action: 'minting a token',
  appId: '1',
  privateKeyPath: '/k.pem',
  apiBaseUrl: 'https://api.github.com',
};

const requestContext: RequestContext = {
  requestId: 'r',
  requester: { pid: 1, ppid: 0 },
  log: pino({ level: 'silent' }),
};

/** What a proxy refusing with `status` throws: a real CONNECT on loopback. */
async function proxyRefusal(t: Test, status: number): Promise<Error> {
  const origin = await startOrigin(t);
  const proxy = await startProxy(t, { refuse: status });
  const fetch = createHttpFetch({ proxy: parseProxyUrl('https_proxy', proxy.url()) });
  return (await t.rejects(fetch(`${origin}/x`, {}))) as Error;
}

/** The error as @octokit/request wraps a failed fetch: status 500, no response. */
function wrapped(error: Error): Error {
  return Object.assign(new Error('fetch failed', { cause: error }), { status: 500 });
}

t.test(
  "a proxy's 403 or 404, bare or wrapped, is reported as the proxy's, not GitHub's",
  async (t) => {
    for (const status of [403, 404]) {
      const refusal = await proxyRefusal(t, status);

      for (const [how, error] of [
        ['bare', refusal],
        ['wrapped', wrapped(refusal)],
      ] as const) {
        const told = mapGitHubError(error, callContext);

        t.equal(githubStatus(error), undefined, `${status} ${how}: no GitHub status`);
        t.match(
          told,
          {
            code: 'CONFIG',
            quit: true,
            message: new RegExp(
              `^cannot reach GitHub at 'https://api\\.github\\.com' while minting a token: proxy '127\\.0\\.0\\.1:\\d+' \\(from https_proxy\\) .*HTTP ${status} `,
            ),
          },
          `${status} ${how}`,
        );
        t.notMatch(told.message, /GitHub (refused|answered)/, `${status} ${how}: not GitHub's`);
        t.equal((told as { status?: unknown }).status, undefined, `${status} ${how}: no status`);
      }
    }
  },
);

t.test("GitHub's own 403 and 404 still read as GitHub's", async (t) => {
  const forbidden = { status: 403, response: { data: { message: 'Forbidden' }, headers: {} } };

  t.equal(githubStatus(forbidden), 403);
  t.equal(githubStatus({ status: 404 }), 404);
  t.match(mapGitHubError(forbidden, callContext), {
    code: 'GITHUB_API',
    status: 403,
    message: /^GitHub refused while minting a token \(HTTP 403 "Forbidden"\)/,
  });
});

t.test(
  "a proxy's 401 on a revocation is not taken for a token GitHub no longer accepts",
  async (t) => {
    const refusal = await proxyRefusal(t, 401);
    const envelope = {
      secret: 'not-a-token',
      expiresAtMs: Date.now() + 60_000,
    } as CredentialEnvelope;

    for (const error of [refusal, wrapped(refusal)]) {
      const request = (async () => {
        throw error;
      }) as unknown as typeof octokitRequest;

      await t.rejects(revokeInstallationToken(request, envelope, Date.now(), callContext), {
        code: 'CONFIG',
        message: /proxy '127\.0\.0\.1:\d+' \(from https_proxy\) refused a tunnel .*HTTP 401/,
      });
    }
  },
);

/** The GitHub App provider, calling the GitHub fixture through `proxy`. */
async function providerBehind(t: Test, proxy: ProxyFixture) {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-proxy-status-'));
  const app = await createTestApp(dir, { sharedKey: true });
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
      retry: { baseDelayMs: 1, maxAttempts: 2 },
      proxy: { proxy: parseProxyUrl('https_proxy', proxy.url()) },
    },
    { log: pino({ level: 'silent' }), now: Date.now },
  );
  return { github, provider };
}

t.test(
  "the GitHub App provider takes a proxy's 404 for neither a missing installation nor a removed one",
  async (t) => {
    const proxy = await startProxy(t, {});
    const { github, provider } = await providerBehind(t, proxy);
    const target = { protocol: 'http', host: 'ignored', path: 'acme/widgets' };
    const scope = await provider.resolveScope(target, {}, requestContext);
    const other = { ...target, path: 'acme/gadgets' };

    // A pooled tunnel would carry the next calls past the proxy's new rule.
    proxy.options.refuse = 404;
    await proxy.dropConnections();
    const lookup = await t.rejects(async () => provider.resolveScope(other, {}, requestContext));
    const mint = await t.rejects(provider.getCredential(target, scope, requestContext));
    delete proxy.options.refuse;

    for (const error of [lookup, mint]) {
      t.match(error, {
        code: 'CONFIG',
        message: /proxy '127\.0\.0\.1:\d+' \(from https_proxy\) does not open tunnels/,
      });
      t.notMatch((error as Error).message, /not installed|GitHub answered|GitHub refused/);
    }
    const again = provider.resolveScope(target, {}, requestContext);
    t.notOk(again instanceof Promise, 'the installation is still known: no new lookup');
    t.equal(github.requests.filter((r) => r.method === 'GET').length, 1, 'one lookup in all');
  },
);
