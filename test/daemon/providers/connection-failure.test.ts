/**
 * A connection to GitHub that fails for a reason of the setup (a certificate
 * the daemon does not trust, a name that does not resolve) is named as such
 * and not retried; found in a new-user trial, where a self-signed GitHub
 * Enterprise certificate was reported as "GitHub did not answer" after four
 * attempts. Against a real TLS server on loopback, through the real client.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import pino from 'pino';
import { GitHubClock } from '../../../daemon/providers/github-clock.js';
import { mapGitHubError } from '../../../daemon/providers/github-errors.js';
import {
  createRetryingFetch,
  DEFAULT_RETRY_POLICY,
} from '../../../daemon/providers/github-retry.js';
import { connectionFailure } from '../../../daemon/providers/connection-failure.js';
import { selfSignedCert } from '../../fixtures/tls-cert.js';

const POLICY = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 10 };
const CONTEXT = {
  action: "looking up the installation for 'acme/widgets'",
  appId: '1',
  privateKeyPath: '/keys/app.pem',
  apiBaseUrl: 'https://127.0.0.1:1',
};

/** An https server with a certificate for `altName`; counts TLS connections. */
async function tlsServer(t: Test, altName: string) {
  const cert = selfSignedCert(t.testdir(), altName);
  let connections = 0;
  const server = createServer(cert, (_request, response) => response.end('{}'));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${port}/app`, connections: () => connections };
}

function retrying() {
  return createRetryingFetch(
    { clock: new GitHubClock(), log: pino({ level: 'silent' }), random: () => 0.5 },
    POLICY,
  );
}

for (const [what, altName, code] of [
  ['a self-signed certificate', 'IP:127.0.0.1', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  ['a certificate for another name', 'DNS:github.test', undefined],
] as const) {
  t.test(`${what} is tried once and named, with the fix`, async (t) => {
    const server = await tlsServer(t, altName);

    const error = await retrying()(server.url, { method: 'GET' }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );

    t.ok(error, 'the call fails');
    t.equal(server.connections(), 1, 'one attempt: the same certificate fails every time');
    const failure = connectionFailure(error);
    t.equal(failure?.kind, 'certificate');
    if (code !== undefined) t.equal(failure?.code, code);
    // As @octokit/request hands it on: status 500, the client's error as cause.
    const wrapped = Object.assign(new Error('request failed'), { status: 500, cause: error });
    const mapped = mapGitHubError(wrapped, CONTEXT);
    t.equal(mapped.code, 'CONFIG', 'a setup problem: git is told to stop, not to prompt');
    t.match(mapped.message, /TLS certificate of 'https:\/\/127\.0\.0\.1:1' is not accepted/);
    t.match(mapped.message, /NODE_EXTRA_CA_CERTS/);
    t.notMatch(mapped.message, /did not answer/);
  });
}

t.test('a name that does not resolve is named, and not retried', async (t) => {
  let calls = 0;
  const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND ghe.example.invalid'), {
    code: 'ENOTFOUND',
  });
  const fetchOnce = createRetryingFetch(
    { clock: new GitHubClock(), log: pino({ level: 'silent' }), random: () => 0.5 },
    POLICY,
    async () => {
      calls++;
      throw notFound;
    },
  );

  await t.rejects(fetchOnce('https://ghe.example.invalid/api/v3/app', {}));
  t.equal(calls, 1);
  const mapped = mapGitHubError(Object.assign(new Error('x'), { status: 500, cause: notFound }), {
    ...CONTEXT,
    apiBaseUrl: 'https://ghe.example.invalid/api/v3',
  });
  t.equal(mapped.code, 'CONFIG');
  t.match(mapped.message, /does not resolve \(ENOTFOUND\); check apiBaseUrl/);
});

t.test('a refused connection is still retried, and named', async (t) => {
  let calls = 0;
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
    code: 'ECONNREFUSED',
  });
  const fetchTwice = createRetryingFetch(
    { clock: new GitHubClock(), log: pino({ level: 'silent' }), random: () => 0.5 },
    { ...POLICY, maxAttempts: 2 },
    async () => {
      calls++;
      throw refused;
    },
  );

  await t.rejects(fetchTwice('https://127.0.0.1:1/app', {}));
  t.equal(calls, 2, 'a server that is starting may take the next attempt');
  const mapped = mapGitHubError(
    Object.assign(new Error('x'), { status: 500, cause: refused }),
    CONTEXT,
  );
  t.equal(mapped.code, 'GITHUB_API');
  t.match(mapped.message, /refused the connection \(ECONNREFUSED\)/);
});

for (const code of ['EMFILE', 'ENFILE'] as const) {
  t.test(`${code} is named as this machine running out of file descriptors`, async (t) => {
    const error = Object.assign(new Error(`connect ${code}`), { code });
    const wrapped = Object.assign(new Error('fetch failed'), { status: 500, cause: error });

    const mapped = mapGitHubError(wrapped, CONTEXT);

    t.match(connectionFailure(error), { kind: 'descriptors', retryable: true });
    t.match(mapped.message, `no file descriptor left (${code}), so GitHub was not asked`);
    t.match(mapped.message, /ulimit -n/);
    t.notMatch(mapped.message, /did not answer|check the network/);
  });
}

t.test('a call that ran out of time says so, however octokit wrapped it', async (t) => {
  // As @octokit/request hands on an aborted fetch: status 500, the
  // AbortSignal.timeout()'s TimeoutError as the cause.
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  const wrapped = Object.assign(new Error('request failed'), { status: 500, cause: timeout });
  for (const error of [timeout, wrapped]) {
    const mapped = mapGitHubError(error, CONTEXT);
    t.equal(mapped.code, 'GITHUB_API', 'retryable upstream failure');
    t.match(mapped.message, /timed out while/);
    t.notMatch(mapped.message, /did not answer/);
  }
  const other = Object.assign(new Error('request failed'), { status: 500, cause: new Error('x') });
  t.match(mapGitHubError(other, CONTEXT).message, /did not answer while/);
});
