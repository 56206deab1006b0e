/**
 * What each refusal or failure of a real proxy on loopback means: which
 * are retried (and after how long), which make git stop, and what the
 * message says. TLS to an https:// proxy with certificates made at test
 * time.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import t from 'tap';
import { GitHubClock } from '../../../daemon/providers/github-clock.js';
import { mapGitHubError } from '../../../daemon/providers/github-errors.js';
import {
  createRetryingFetch,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
} from '../../../daemon/providers/github-retry.js';
import { createHttpFetch } from '../../../daemon/providers/http-fetch.js';
import { parseProxyUrl } from '../../../daemon/providers/proxy-env.js';
import { startOrigin as origin, startProxy as proxy } from '../../fixtures/connect-proxy.js';
import { REPO_ROOT } from '../../fixtures/repo-root.js';
import { selfSignedCert } from '../../fixtures/tls-cert.js';

function retrying(url: string, policy: Partial<RetryPolicy> = {}) {
  return createRetryingFetch(
    { clock: new GitHubClock(), log: pino({ level: 'silent' }), random: () => 0 },
    { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxAttempts: 3, ...policy },
    createHttpFetch({ proxy: parseProxyUrl('https_proxy', url) }),
  );
}

/** What git is told: the error as @octokit/request wraps a failed fetch (status 500, no response). */
function toldGit(error: unknown) {
  const wrapped = Object.assign(new Error('fetch failed', { cause: error }), { status: 500 });
  return mapGitHubError(wrapped, context);
}

const context = {
  action: 'minting a token',
  appId: '1',
  privateKeyPath: '/k.pem',
  apiBaseUrl: 'https://api.github.com',
};

t.test('408 and 429 pass: retried like a 5xx, and git is not told to stop', async (t) => {
  const base = await origin(t);

  for (const status of [408, 429]) {
    const fixture = await proxy(t, { refuse: status });
    const error = await t.rejects(retrying(fixture.url())(`${base}/x`, {}));

    t.match(error, {
      retryable: true,
      proxyStatus: status,
      message: new RegExp(
        `turned away the request for a tunnel to '127\\.0\\.0\\.1:\\d+' for now \\(HTTP ${status} `,
      ),
    });
    t.equal(fixture.tunnels.length, 3, `${status} tried maxAttempts times`);
    t.equal(toldGit(error).quit, false);
  }
});

t.test(
  "Retry-After on the proxy's answer sets the wait, and one too long is not waited",
  async (t) => {
    const base = await origin(t);
    const brief = await proxy(t, { refuse: 429, refuseHeaders: 'retry-after: 1\r\n' });
    const long = await proxy(t, { refuse: 503, refuseHeaders: 'retry-after: 3600\r\n' });
    let started = performance.now();

    await t.rejects(retrying(brief.url(), { maxAttempts: 2 })(`${base}/x`, {}));
    const briefMs = performance.now() - started;
    started = performance.now();
    await t.rejects(retrying(long.url())(`${base}/x`, {}));
    const longMs = performance.now() - started;

    t.ok(briefMs >= 950 && briefMs < 5000, `waited the second asked (${Math.round(briefMs)} ms)`);
    t.equal(brief.tunnels.length, 2);
    t.ok(longMs < 1000, `an hour is past maxDelayMs: no wait (${Math.round(longMs)} ms)`);
    t.equal(long.tunnels.length, 1, 'and no second attempt');
  },
);

t.test(
  '403 and other refusals of the host, and 404/405 (no tunnels at all), stop git',
  async (t) => {
    const base = await origin(t);
    const messages: Record<number, RegExp> = {
      403: /refused a tunnel to '127\.0\.0\.1:\d+' \(HTTP 403 Forbidden\); ask its administrators/,
      400: /refused a tunnel to '127\.0\.0\.1:\d+' \(HTTP 400 Bad Request\)/,
      404: /does not open tunnels: it answered the CONNECT for '127\.0\.0\.1:\d+' with HTTP 404 Not Found; check that https_proxy names an HTTP proxy that supports CONNECT/,
      405: /does not open tunnels: .* HTTP 405 Method Not Allowed/,
      302: /does not open tunnels: .* HTTP 302 Found/,
    };

    for (const [status, message] of Object.entries(messages)) {
      const fixture = await proxy(t, { refuse: Number(status) });
      const error = await t.rejects(retrying(fixture.url())(`${base}/x`, {}));

      t.match(error, { retryable: false, message }, status);
      t.equal(fixture.tunnels.length, 1, `${status} is not retried`);
      t.match(toldGit(error), { code: 'CONFIG', quit: true });
    }
  },
);

t.test(
  'an untrusted https:// proxy certificate names the certificate, is not retried, stops git',
  async (t) => {
    const base = await origin(t);
    const cert = selfSignedCert(t.testdir(), 'IP:127.0.0.1', 'proxy');
    const fixture = await proxy(t, { tls: cert });

    const error = await t.rejects(retrying(fixture.url())(`${base}/x`, {}));

    t.match(error, {
      name: 'ProxyTunnelError',
      retryable: false,
      message: `the certificate of proxy '${fixture.label}' (from https_proxy) is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT); if a private CA issued it, put that CA's certificate in a file named by NODE_EXTRA_CA_CERTS in the daemon's environment`,
    });
    t.equal(fixture.connections, 1, 'one handshake, not maxAttempts');
    t.equal(fixture.tunnels.length, 0, 'no CONNECT sent to an untrusted proxy');
    t.match(toldGit(error), { code: 'CONFIG', quit: true });
  },
);

t.test(
  'a trusted proxy certificate for another name, or plain http on an https:// URL, is named',
  async (t) => {
    const dir = t.testdir();
    const base = await origin(t);
    const cert = selfSignedCert(dir, 'DNS:proxy.test', 'proxy');
    const tls = await proxy(t, { tls: cert });
    const plain = await proxy(t, {});
    const caPath = join(dir, 'ca.pem');
    writeFileSync(caPath, cert.cert);

    const [mismatch, notTls] = await failInChild(caPath, [
      [`https://127.0.0.1:${tls.port}`, `${base}/x`],
      [`https://127.0.0.1:${plain.port}`, `${base}/x`],
    ]);

    t.same(mismatch, {
      retryable: false,
      message: `the certificate of proxy '${tls.label}' (from https_proxy) does not hold the name '127.0.0.1' (ERR_TLS_CERT_ALTNAME_INVALID); write https_proxy with a name or address the proxy's certificate holds`,
    });
    t.match(notTls, {
      retryable: false,
      message: new RegExp(
        `^the TLS handshake with proxy '${plain.label}' \\(from https_proxy\\) failed \\(ERR_SSL_\\w+\\); check that the proxy speaks TLS on that port, or write https_proxy with http:// if it does not$`,
      ),
    });
    t.equal(tls.connections + plain.connections, 2, 'neither retried');
  },
);

/** Each [proxy URL, origin URL] fetched with retries in a child that trusts `caPath`: the error. */
async function failInChild(caPath: string, calls: [string, string][]): Promise<unknown[]> {
  const dist = (file: string) =>
    JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', 'providers', file)).href);
  const script = `
    const { createHttpFetch } = await import(${dist('http-fetch.js')});
    const { createRetryingFetch } = await import(${dist('github-retry.js')});
    const { parseProxyUrl } = await import(${dist('proxy-env.js')});
    const log = { warn() {} };
    const clock = { observe() {}, githubNowMs: () => Date.now() };
    const out = [];
    for (const [proxy, url] of ${JSON.stringify(calls)}) {
      const policy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 100, attemptTimeoutMs: 5000, totalBudgetMs: 10000 };
      const fetch = createRetryingFetch({ clock, log }, policy, createHttpFetch({ proxy: parseProxyUrl('https_proxy', proxy) }));
      try {
        await fetch(url, {});
        out.push('answered');
      } catch (error) {
        out.push({ retryable: error.retryable, message: error.message });
      }
    }
    process.stdout.write(JSON.stringify(out));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script],
    { env: { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: caPath }, timeout: 30_000 },
  );
  return JSON.parse(stdout) as unknown[];
}
