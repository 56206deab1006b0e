/**
 * GitHub calls through a real CONNECT proxy on loopback: tunnels, their
 * reuse, credentials, every way a proxy fails, and TLS to the origin
 * inside the tunnel (certificates made at test time).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import t, { type Test } from 'tap';
import { GitHubClock } from '../../../daemon/providers/github-clock.js';
import {
  createRetryingFetch,
  DEFAULT_RETRY_POLICY,
} from '../../../daemon/providers/github-retry.js';
import { createHttpFetch } from '../../../daemon/providers/http-fetch.js';
import { parseProxyUrl } from '../../../daemon/providers/proxy-env.js';
import { ProxyTunnelError } from '../../../daemon/providers/proxy-tunnel.js';
import { ProxyFixture, type ProxyFixtureOptions } from '../../fixtures/connect-proxy.js';
import { recordSecrets } from '../../fixtures/leak-ledger.js';
import { REPO_ROOT } from '../../fixtures/repo-root.js';
import { selfSignedCert } from '../../fixtures/tls-cert.js';

/** An http origin that answers with what it was asked and records the headers. */
async function origin(t: Test): Promise<{ base: string; seen: IncomingMessage['headers'][] }> {
  const seen: IncomingMessage['headers'][] = [];
  const server = createServer((request, response) => {
    seen.push(request.headers);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ path: request.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function proxy(t: Test, options: ProxyFixtureOptions = {}): Promise<ProxyFixture> {
  const fixture = await ProxyFixture.start(options);
  t.teardown(() => fixture.stop());
  return fixture;
}

function through(url: string, variable = 'https_proxy') {
  return createHttpFetch({ proxy: parseProxyUrl(variable, url) });
}

function newPassword(): string {
  const password = `proxy-pw-${Math.random().toString(36).slice(2)}`;
  recordSecrets([password, Buffer.from(`ci:${password}`).toString('base64')]);
  return password;
}

t.test('an http origin is reached through one tunnel, kept alive and reused', async (t) => {
  const { base, seen } = await origin(t);
  const fixture = await proxy(t);
  const fetch = through(fixture.url(), 'http_proxy');

  const answers = [];
  for (const path of ['/one', '/two', '/three']) answers.push(await fetch(`${base}${path}`));

  t.same(await Promise.all(answers.map((answer) => answer.json())), [
    { path: '/one' },
    { path: '/two' },
    { path: '/three' },
  ]);
  t.same(
    fixture.tunnels.map(({ target, status }) => ({ target, status })),
    [{ target: new URL(base).host, status: 200 }],
    'one CONNECT for three calls',
  );
  t.equal(fixture.plainRequests, 0, 'never an absolute-form request');
  t.equal(seen.length, 3);
});

t.test('credentials go to the proxy in the CONNECT, never to the origin', async (t) => {
  const password = newPassword();
  const { base, seen } = await origin(t);
  const fixture = await proxy(t, { credentials: { username: 'ci', password } });

  const answer = await through(fixture.url({ username: 'ci', password }))(`${base}/x`);

  t.equal(answer.status, 200);
  t.match(fixture.tunnels, [{ authorized: true, status: 200 }]);
  t.equal(seen[0]!['proxy-authorization'], undefined);
});

t.test('a 407 names the proxy, says what to fix, and is not retried', async (t) => {
  const password = newPassword();
  const { base } = await origin(t);
  const fixture = await proxy(t, { credentials: { username: 'ci', password } });
  const retrying = (url: string) =>
    createRetryingFetch(
      { clock: new GitHubClock(), log: pino({ level: 'silent' }) },
      { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1 },
      through(url),
    );

  const none = await t.rejects(retrying(fixture.url())(`${base}/x`, {}));
  const wrong = await t.rejects(
    retrying(fixture.url({ username: 'ci', password: `${password}-typo` }))(`${base}/x`, {}),
  );

  t.type(none, ProxyTunnelError);
  t.match(none, {
    retryable: false,
    proxyStatus: 407,
    message: `proxy '${fixture.label}' (from https_proxy) asks for a user name and password (HTTP 407 Proxy Authentication Required); put them in https_proxy: http://USER:PASSWORD@${fixture.label}`,
  });
  t.match(wrong, {
    retryable: false,
    message: /rejected the user name and password in https_proxy \(HTTP 407/,
  });
  t.notMatch((wrong as Error).message, password);
  t.equal(fixture.tunnels.length, 2, 'one CONNECT each: a 407 is not retried');
});

t.test(
  'a refusal (403) is final, a proxy error (502) is retried within the attempts',
  async (t) => {
    const { base } = await origin(t);
    const forbidding = await proxy(t, { refuse: 403 });
    const failing = await proxy(t, { refuse: 502 });
    const retrying = (url: string) =>
      createRetryingFetch(
        { clock: new GitHubClock(), log: pino({ level: 'silent' }) },
        { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxAttempts: 3 },
        through(url),
      );

    const forbidden = await t.rejects(retrying(forbidding.url())(`${base}/x`, {}));
    const badGateway = await t.rejects(retrying(failing.url())(`${base}/x`, {}));

    t.match(forbidden, {
      retryable: false,
      message: new RegExp(
        `^proxy '${forbidding.label}' \\(from https_proxy\\) refused a tunnel to '${new URL(base).host}' \\(HTTP 403 Forbidden\\); ask its administrators`,
      ),
    });
    t.equal(forbidding.tunnels.length, 1);
    t.match(badGateway, {
      retryable: true,
      message:
        /could not open a tunnel to '127\.0\.0\.1:\d+' \(HTTP 502 Bad Gateway\); check that the proxy can reach that host/,
    });
    t.equal(failing.tunnels.length, 3, 'tried maxAttempts times');
  },
);

t.test('a proxy that is not there, or does not speak HTTP, is named', async (t) => {
  const { base } = await origin(t);
  const closed = createNetServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  // Reads what it is sent, or its socket never sees the end and never closes.
  const garbage = createNetServer((socket) => socket.resume().end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
  await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => garbage.close(() => resolve())));
  const garbagePort = (garbage.address() as AddressInfo).port;

  await t.rejects(through(`http://127.0.0.1:${port}`)(`${base}/x`), {
    retryable: true,
    message: `cannot connect to proxy '127.0.0.1:${port}' (from https_proxy): ECONNREFUSED; check that the proxy is up and that https_proxy names it`,
  });
  await t.rejects(through(`127.0.0.1:${garbagePort}`)(`${base}/x`), {
    message:
      /answered the request for a tunnel with something that is not HTTP; check that https_proxy names an HTTP proxy/,
  });
});

t.test('a proxy that hangs is given up at the deadline, and its connection closed', async (t) => {
  const { base } = await origin(t);
  const fixture = await proxy(t, { hang: true });
  const started = performance.now();

  const error = await t.rejects(
    through(fixture.url())(`${base}/x`, { signal: AbortSignal.timeout(300) }),
  );

  t.ok(performance.now() - started < 3000, 'within the deadline, not the proxy');
  t.match(error, {
    name: 'ProxyTunnelError',
    retryable: true,
    message: new RegExp(
      `^proxy '${fixture.label}' \\(from https_proxy\\) did not answer the request for a tunnel to '127\\.0\\.0\\.1:\\d+' in time`,
    ),
  });
  t.equal(
    (error as Error).cause instanceof Error && (error as Error).cause!.constructor.name,
    'DOMException',
  );
  for (let i = 0; i < 100 && fixture.openConnections > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.equal(fixture.openConnections, 0, 'the abandoned tunnel request is not left open');
});

t.test(
  'the retry policy bounds a hanging proxy: a deadline per attempt, a total budget',
  async (t) => {
    const { base } = await origin(t);
    const fixture = await proxy(t, { hang: true });
    const retrying = createRetryingFetch(
      { clock: new GitHubClock(), log: pino({ level: 'silent' }) },
      { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, attemptTimeoutMs: 200, totalBudgetMs: 700 },
      through(fixture.url()),
    );
    const started = performance.now();

    const error = await t.rejects(retrying(`${base}/x`, {}));

    const elapsedMs = performance.now() - started;
    t.ok(
      elapsedMs >= 400 && elapsedMs < 2000,
      `ended with the budget (${Math.round(elapsedMs)} ms)`,
    );
    t.match(error, {
      name: 'ProxyTunnelError',
      message: /did not answer the request for a tunnel/,
    });
    t.ok(
      fixture.tunnels.length >= 2 && fixture.tunnels.length <= 4,
      'attempts, each cut at its deadline',
    );
  },
);

t.test('https inside the tunnel: the origin certificate is checked against its name', async (t) => {
  const dir = t.testdir();
  const github = selfSignedCert(dir, 'DNS:github.test', 'github');
  const proxyCert = selfSignedCert(dir, 'IP:127.0.0.1', 'proxy');
  const server = createTlsServer(github, (_request, response) => response.end('{"ok":1}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as AddressInfo).port;
  // The proxy resolves the names, as a real one does: the daemon never does.
  const hosts = { 'github.test': '127.0.0.1', 'other.test': '127.0.0.1' };
  const plain = await proxy(t, { hosts });
  const tls = await proxy(t, { hosts, tls: proxyCert });

  await t.rejects(through(plain.url())(`https://github.test:${port}/`), {
    code: /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/,
  });

  // Trusted as an operator does it: both certificates in NODE_EXTRA_CA_CERTS.
  const caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, github.cert + proxyCert.cert);
  const child = await fetchInChild(caPath, [
    [plain.url(), `https://github.test:${port}/`],
    [plain.url(), `https://other.test:${port}/`],
    [tls.url(), `https://github.test:${port}/`],
  ]);

  t.same(
    child,
    ['200 {"ok":1}', 'ERR_TLS_CERT_ALTNAME_INVALID', '200 {"ok":1}'],
    'trusted name only, through an http:// and an https:// proxy',
  );
  t.same(
    [...plain.tunnels, ...tls.tunnels].map(({ target }) => target),
    [`github.test:${port}`, `github.test:${port}`, `other.test:${port}`, `github.test:${port}`],
    'the CONNECT names the origin, not an address',
  );
});

/** Each [proxy URL, origin URL] fetched in a child that trusts `caPath`: status and body, or the error code. */
async function fetchInChild(caPath: string, calls: [string, string][]): Promise<string[]> {
  const dist = (file: string) =>
    JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', 'providers', file)).href);
  const script = `
    const { createHttpFetch } = await import(${dist('http-fetch.js')});
    const { parseProxyUrl } = await import(${dist('proxy-env.js')});
    const out = [];
    for (const [proxy, url] of ${JSON.stringify(calls)}) {
      try {
        const answer = await createHttpFetch({ proxy: parseProxyUrl('https_proxy', proxy) })(url);
        out.push(answer.status + ' ' + (await answer.text()));
      } catch (error) {
        out.push(error.code ?? error.message);
      }
    }
    process.stdout.write(JSON.stringify(out));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script],
    { env: { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: caPath }, timeout: 30_000 },
  );
  return JSON.parse(stdout) as string[];
}
