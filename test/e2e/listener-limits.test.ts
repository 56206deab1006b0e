/**
 * Listener policies end to end, with a real daemon: allow patterns that name
 * a host, against a daemon with two hosts (two GitHub-compatible servers),
 * and a socket's maxMintsPerMinute, met by real git.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createTestApp } from '../fixtures/app-keys.js';
import { createBrokerWorld, INSTALLATION_ID, OWNER } from '../fixtures/broker-world.js';
import { cli } from '../fixtures/cli-world.js';
import { GitHubFixture } from '../fixtures/github-server.js';
import { assertNoSecrets, privateKeyFragments } from '../fixtures/leak-scan.js';
import { runHelper } from '../fixtures/run-helper.js';

async function socketDir(t: Test): Promise<string> {
  // Test directories are too deep for a Unix socket path (~104 bytes).
  const dir = await mkdtemp(join(tmpdir(), 'gcb-limits-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function get(socket: string, host: string, path: string) {
  return runHelper(['--socket', socket, 'get'], `protocol=http\nhost=${host}\npath=${path}\n\n`);
}

t.test('a host in an allow pattern limits it to that host; none means every host', async (t) => {
  // The second host, started first so the listener's pattern can name it.
  // One call: each call to t.testdir() makes the directory afresh.
  const dir = t.testdir();
  const app = await createTestApp(dir, { sharedKey: true });
  const second = await GitHubFixture.start({
    apps: [{ id: app.appId, publicKey: app.publicKey }],
    installations: [
      {
        id: INSTALLATION_ID + 1,
        appId: app.appId,
        account: OWNER,
        repositories: ['widgets', 'gadgets'],
        permissions: { contents: 'write', metadata: 'read' },
      },
    ],
    reposDir: join(dir, 'second'),
  });
  t.teardown(() => second.stop());
  // The integration names it as localhost: a host with letters, whose case git ignores.
  const secondHost = `localhost:${second.host.split(':')[1]}`;
  const listener = join(await socketDir(t), 'ci', 'daemon.sock');
  const w = await createBrokerWorld(dir, {
    installed: ['widgets', 'gadgets'],
    bareRepos: false,
    moreIntegrations: [
      {
        name: 'second',
        provider: 'github-app',
        host: secondHost,
        appId: app.appId,
        privateKeyPath: app.privateKeyPath,
        apiBaseUrl: second.apiUrl,
      },
    ],
    config: {
      listeners: [
        { socket: listener, allow: [`${secondHost.toUpperCase()}/acme/widgets`, 'acme/gadgets'] },
      ],
    },
  });
  t.teardown(() => w.stop());
  const firstHost = w.github.host;

  const onSecond = await get(
    listener,
    `LocalHost:${second.host.split(':')[1]}`,
    'acme/widgets.git',
  );
  const onFirst = await get(listener, firstHost, 'acme/widgets.git');
  const anyFirst = await get(listener, firstHost, 'acme/gadgets.git');
  const anySecond = await get(listener, secondHost, 'acme/gadgets.git');

  t.match(onSecond.stdout, /^password=ghs_/m, 'widgets on the host its pattern names');
  t.notMatch(onFirst.stdout, /password=/, 'widgets on the other host: nothing');
  t.match(onFirst.stdout, /^quit=1$/m);
  t.equal(
    onFirst.stderr,
    `git-credential-broker: repository 'acme/widgets' on host '${firstHost}' is not allowed on socket '${listener}'; allowed there: ${secondHost}/acme/widgets, acme/gadgets\n`,
    'the denial names the host',
  );
  t.match(anyFirst.stdout, /^password=ghs_/m, 'a pattern without a host: the first host');
  t.match(anySecond.stdout, /^password=ghs_/m, 'and the second');
  t.equal(w.github.mintCount, 1, 'the first host minted only gadgets');
  t.equal(second.mintCount, 2);
  const denied = (await w.daemon.auditRecords()).filter((r) => r.event === 'token.denied');
  t.same(
    denied.map((r) => [r.target, r.listener]),
    [[`http://${firstHost}/acme/widgets.git`, listener]],
  );
});

t.test(
  'over its maxMintsPerMinute a socket mints no more, git says when to retry, hits still pass',
  async (t) => {
    const listener = join(await socketDir(t), 'ci', 'daemon.sock');
    const w = await createBrokerWorld(t.testdir(), {
      installed: ['widgets', 'gadgets', 'gizmos'],
      config: { listeners: [{ socket: listener, allow: ['acme/*'], maxMintsPerMinute: 2 }] },
    });
    t.teardown(() => w.stop());
    // git in this world now asks the listener, as a sandbox's git would.
    const configured = await runHelper(
      ['configure', '--host', w.github.gitBaseUrl, '--socket', listener],
      '',
      w.env,
      { cwd: join(w.dir, 'home') },
    );
    t.equal(configured.code, 0, configured.stderr);

    const widgets = await w.git(['ls-remote', w.cloneUrl('widgets')]);
    const gadgets = await w.git(['ls-remote', w.cloneUrl('gadgets')]);
    const gizmos = await w.git(['ls-remote', w.cloneUrl('gizmos')]);
    const widgetsAgain = await w.git(['ls-remote', w.cloneUrl('widgets')]);
    const status = await cli(w, ['status', '--json']);

    t.equal(widgets.code, 0, widgets.stderr);
    t.equal(gadgets.code, 0, gadgets.stderr);
    t.not(gizmos.code, 0, 'the third mint within the minute is refused');
    t.match(
      gizmos.stderr,
      new RegExp(
        `git-credential-broker: socket '${listener}' allows at most 2 requests a minute that mint a token \\("maxMintsPerMinute"\\), and this one would be over it; retry in [0-9]+ s \\(tokens already cached are still served\\)`,
      ),
      'git shows the limit, the socket and when to retry',
    );
    t.equal(widgetsAgain.code, 0, 'a cached token is still served');
    t.equal(w.github.mintCount, 2, 'GitHub minted twice');
    const records = await w.daemon.auditRecords();
    const denied = records.filter((r) => r.event === 'token.denied');
    t.equal(denied.length, 1);
    t.match(denied[0], {
      listener,
      reason: 'mint_limit',
      repository: 'acme/gizmos',
      error: { code: 'DENIED', message: /maxMintsPerMinute/ },
    });
    const daemonStatus = JSON.parse(status.stdout) as {
      counters: { denied: number };
      listeners: { socket: string; maxMintsPerMinute?: number; mintsRefused?: number }[];
    };
    t.equal(daemonStatus.counters.denied, 1);
    t.match(
      daemonStatus.listeners.find((l) => l.socket === listener),
      { maxMintsPerMinute: 2, mintsRefused: 1 },
    );
    const text = await cli(w, ['status']);
    t.match(
      text.stdout,
      `${listener}: acme/*; at most the integration's permissions; at most 2 mints a minute (refused 1)`,
    );
    assertNoSecrets(
      t,
      {
        gizmos: gizmos.stderr,
        status: status.stdout + text.stdout,
        daemon: w.daemon.output(),
        audit: await w.daemon.auditText(),
      },
      [...w.github.issuedTokens(), ...privateKeyFragments(w.app.privateKeyPem)],
    );
  },
);

t.test('a request that only looks up an installation spends the limit too', async (t) => {
  const listener = join(await socketDir(t), 'ci', 'daemon.sock');
  const w = await createBrokerWorld(t.testdir(), {
    bareRepos: false,
    config: { listeners: [{ socket: listener, allow: ['acme/*'], maxMintsPerMinute: 2 }] },
  });
  t.teardown(() => w.stop());
  const lookups = () =>
    w.github.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/installation')).length;

  // Repositories the App is not on: each a lookup GitHub answers 404, which is not remembered.
  const missing = [];
  for (const name of ['nope1', 'nope2', 'nope3', 'nope4']) {
    missing.push(await get(listener, w.github.host, `acme/${name}.git`));
  }

  t.equal(lookups(), 2, 'two lookups, then the socket is over its limit');
  t.match(missing[1]!.stderr, /is not installed on 'acme\/nope2'/);
  t.match(missing[2]!.stderr, /allows at most 2 requests a minute that mint a token/);
  t.equal(w.github.mintCount, 0);
});
