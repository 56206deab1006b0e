/**
 * A real daemon whose GitHub calls must go through an HTTP proxy, as on a
 * CI runner with only egress through one: the CONNECT proxy fixture on
 * loopback in front of the GitHub-compatible server, real git.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createBrokerWorld, type BrokerWorld, helperGet } from '../fixtures/broker-world.js';
import { ProxyFixture, type ProxyFixtureOptions } from '../fixtures/connect-proxy.js';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { recordOutput, recordSecrets } from '../fixtures/leak-ledger.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';
import { runHelper } from '../fixtures/run-helper.js';
import { createTestApp } from '../fixtures/app-keys.js';

async function proxy(t: Test, options: ProxyFixtureOptions = {}): Promise<ProxyFixture> {
  const fixture = await ProxyFixture.start(options);
  t.teardown(() => fixture.stop());
  return fixture;
}

async function world(
  t: Test,
  daemonEnv: NodeJS.ProcessEnv,
  integration: Record<string, unknown> = {},
  name = 'world',
): Promise<BrokerWorld> {
  const dir = join(t.testdir(), name);
  await mkdir(dir, { recursive: true });
  const w = await createBrokerWorld(dir, {
    daemonEnv,
    integration,
    bareRepos: Object.keys(integration).length === 0,
  });
  t.teardown(() => w.stop());
  return w;
}

async function statusOf(w: BrokerWorld): Promise<{ text: string; json: string; api: unknown }> {
  const text = await runHelper(['status', '--socket', w.daemon.socketPath], '', w.env);
  const json = await runHelper(['status', '--json', '--socket', w.daemon.socketPath], '', w.env);
  const status = JSON.parse(json.stdout) as { integrations: { api?: unknown }[] };
  return { text: text.stdout, json: json.stdout, api: status.integrations[0]!.api };
}

/** A password the suite-wide leak check searches every output for, with its Basic form. */
function proxyPassword(): { password: string; secrets: string[] } {
  const password = `proxy-pw-${Math.random().toString(36).slice(2)}`;
  const secrets = [password, Buffer.from(`ci:${password}`).toString('base64')];
  recordSecrets(secrets);
  return { password, secrets };
}

t.test(
  'with http_proxy set, git clones with a token the daemon minted through the proxy',
  async (t) => {
    const fixture = await proxy(t);
    const w = await world(t, { http_proxy: fixture.url() });

    const clone = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'clone')]);
    const { text, api } = await statusOf(w);

    t.equal(clone.code, 0, clone.stderr);
    t.equal(w.github.mintCount, 1);
    t.ok(fixture.tunnels.length >= 1, 'the daemon called GitHub through the proxy');
    t.same(
      new Set(fixture.tunnels.map(({ target, status }) => `${target} ${status}`)),
      new Set([`${w.github.host} 200`]),
      'every tunnel led to the GitHub API, and opened',
    );
    t.same(api, {
      origin: `http://${w.github.host}`,
      proxy: fixture.label,
      proxyVariable: 'http_proxy',
    });
    t.match(text, `API http://${w.github.host}, proxy ${fixture.label} (from http_proxy)`);
    const started = w.daemon
      .output()
      .split('\n')
      .find((line) => line.includes('daemon listening'));
    t.match(JSON.parse(started ?? '{}'), {
      integrations: [{ name: 'local-github', api: { proxy: fixture.label } }],
    });
  },
);

t.test('NO_PROXY excludes the API: the daemon mints directly, and says why', async (t) => {
  const fixture = await proxy(t);
  const w = await world(t, { http_proxy: fixture.url(), NO_PROXY: 'localhost,127.0.0.1' });

  const result = await helperGet(w);
  const { text, api } = await statusOf(w);

  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^password=ghs_/m);
  t.equal(fixture.tunnels.length, 0, 'the proxy saw nothing');
  t.equal(fixture.connections, 0);
  t.same(api, {
    origin: `http://${w.github.host}`,
    proxy: 'none',
    proxyVariable: 'http_proxy',
    excludedBy: 'NO_PROXY',
  });
  t.match(text, 'proxy none (NO_PROXY excludes it from http_proxy)');
});

t.test(
  "a proxy's credentials are sent to it, and shown nowhere: not in logs, status, audit or errors",
  async (t) => {
    const { password, secrets } = proxyPassword();
    const wrong = proxyPassword();
    const credentials = { username: 'ci', password };
    const fixture = await proxy(t, { credentials });
    const good = await world(t, { http_proxy: fixture.url(credentials) }, {}, 'good');
    const bad = await world(
      t,
      { http_proxy: fixture.url({ username: 'ci', password: wrong.password }) },
      { maxAttempts: 3 },
      'bad',
    );

    const served = await helperGet(good);
    const refused = await helperGet(bad);
    const goodStatus = await statusOf(good);
    const badStatus = await statusOf(bad);

    t.equal(served.code, 0, served.stderr);
    t.match(served.stdout, /^password=ghs_/m);
    t.equal(refused.code, 1);
    t.equal(refused.stdout, 'quit=1\n', 'git is told to stop: retrying will not fix a password');
    t.match(
      refused.stderr,
      `proxy '${fixture.label}' (from http_proxy) rejected the user name and password in http_proxy (HTTP 407 Proxy Authentication Required); correct them`,
    );
    t.same(
      fixture.tunnels.map(({ authorized }) => authorized),
      [true, false],
      'the right password opened a tunnel; the wrong one was tried once, not retried',
    );
    t.match(goodStatus.api, { proxy: fixture.label, proxyVariable: 'http_proxy' });
    await good.daemon.stop();
    await bad.daemon.stop();
    assertNoSecrets(
      t,
      {
        goodDaemon: good.daemon.output(),
        badDaemon: bad.daemon.output(),
        goodAudit: await good.daemon.auditText(),
        badAudit: await bad.daemon.auditText(),
        servedStderr: served.stderr,
        refusedStderr: refused.stderr,
        refusedStdout: refused.stdout,
        status: goodStatus.text + goodStatus.json + badStatus.text + badStatus.json,
      },
      [...secrets, ...wrong.secrets],
    );
  },
);

t.test('a proxy that is down, refuses GitHub or hangs gives git a clear error', async (t) => {
  const stopped = await ProxyFixture.start();
  const down = { url: stopped.url(), label: stopped.label };
  await stopped.stop();
  const refusing = await proxy(t, { refuse: 403 });
  const hanging = await proxy(t, { hang: true });
  const [unreachable, forbidden, stalled] = await Promise.all([
    world(t, { http_proxy: down.url }, { maxAttempts: 2 }, 'down'),
    world(t, { http_proxy: refusing.url() }, {}, 'refusing'),
    world(t, { http_proxy: hanging.url() }, { maxAttempts: 2, requestTimeoutSeconds: 1 }, 'hung'),
  ]);

  const [offline, denied, slow] = await Promise.all([
    helperGet(unreachable),
    helperGet(forbidden),
    helperGet(stalled),
  ]);

  t.equal(offline.code, 1);
  t.equal(offline.stdout, '', 'no quit: git may try another helper, a later run may succeed');
  t.match(
    offline.stderr,
    `cannot connect to proxy '${down.label}' (from http_proxy): ECONNREFUSED; check that the proxy is up and that http_proxy names it`,
  );
  t.match(unreachable.daemon.output(), /the proxy did not open a tunnel to GitHub; retrying/);
  t.equal(slow.stdout, '', 'a hung proxy, bounded by requestTimeoutSeconds per attempt');
  t.match(
    slow.stderr,
    `proxy '${hanging.label}' (from http_proxy) did not answer the request for a tunnel to '${stalled.github.host}' in time`,
  );
  t.equal(hanging.tunnels.length, 2, 'one CONNECT per attempt');
  t.equal(denied.stdout, 'quit=1\n');
  t.match(
    denied.stderr,
    `proxy '${refusing.label}' (from http_proxy) refused a tunnel to '${forbidden.github.host}' (HTTP 403 Forbidden)`,
  );
});

t.test('a proxy URL the daemon cannot use stops it at start, password unquoted', async (t) => {
  const dir = t.testdir();
  const { password, secrets } = proxyPassword();
  const app = await createTestApp(dir, { sharedKey: true });
  const integration = {
    provider: 'github-app',
    host: 'github.com',
    appId: app.appId,
    privateKeyPath: app.privateKeyPath,
  };

  const error = await t.rejects(
    startDaemonProcess(
      dir,
      { integrations: [integration] },
      { HTTPS_PROXY: `socks5://ci:${password}@127.0.0.1:1080` },
    ),
  );
  const output = (error as Error).message;
  recordOutput('daemon that refused its proxy', output);

  t.match(
    output,
    'environment variable HTTPS_PROXY names a socks5 proxy, which the broker does not support',
  );
  assertNoSecrets(t, { output }, secrets);
});
