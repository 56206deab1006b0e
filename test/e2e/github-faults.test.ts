/**
 * What GitHub can do wrong, through the real daemon and helper: answer
 * slowly, answer garbage, or share installation ids across two servers.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { createTestApp } from '../fixtures/app-keys.js';
import { createBrokerWorld } from '../fixtures/broker-world.js';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { createBareRepo } from '../fixtures/git.js';
import { GitHubFixture } from '../fixtures/github-server.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';
import { runHelper } from '../fixtures/run-helper.js';

const input = (host: string, path = 'acme/widgets.git'): string =>
  `protocol=http\nhost=${host}\npath=${path}\n\n`;

t.test(
  'a slow GitHub (lookup and mint together past ten seconds) still gets the token to git',
  async (t) => {
    const w = await createBrokerWorld(t.testdir());
    t.teardown(() => w.stop());
    w.github.injectFault({ path: /\/installation$/, status: 0, delayMs: 6000 });
    w.github.injectFault({ path: /access_tokens$/, status: 0, delayMs: 5000 });

    const result = await runHelper(
      ['--socket', w.daemon.socketPath, 'get'],
      input(w.github.host),
      w.env,
    );

    t.equal(result.code, 0, result.stderr);
    t.match(result.stdout, `password=${w.github.issuedTokens()[0]}`);
  },
);

t.test('a broken mint answer fails once and does not poison the cache', async (t) => {
  const brokenToken = `ghs_${randomBytes(18).toString('hex')}`;
  const w = await createBrokerWorld(t.testdir());
  t.teardown(() => w.stop());
  w.github.injectFault({
    path: /access_tokens$/,
    status: 201,
    body: {
      token: brokenToken,
      expires_at: 'garbage',
      repository_selection: 'selected',
    },
  });

  const broken = await runHelper(
    ['--socket', w.daemon.socketPath, 'get'],
    input(w.github.host),
    w.env,
  );
  const healed = await runHelper(
    ['--socket', w.daemon.socketPath, 'get'],
    input(w.github.host),
    w.env,
  );

  t.match(
    broken.stderr,
    /GitHub's answer to the mint for 'acme\/widgets' has no valid "expires_at"; the token was not used/,
  );
  t.notMatch(broken.stdout, /password=/);
  t.equal(healed.code, 0, healed.stderr);
  t.match(
    healed.stdout,
    `password=${w.github.issuedTokens()[0]}`,
    'the next request mints a good token',
  );
  assertNoSecrets(t, { broken: broken.stderr, daemon: w.daemon.output() }, [brokenToken]);
});

t.test(
  'two servers with the same installation id never get each other’s tokens, even minting at once',
  async (t) => {
    const dir = t.testdir();
    const servers: GitHubFixture[] = [];
    const integrations: Record<string, unknown>[] = [];
    for (const name of ['a', 'b']) {
      const reposDir = join(dir, `repos-${name}`);
      await createBareRepo(reposDir, 'acme', 'widgets');
      const app = await createTestApp(dir, { appId: name === 'a' ? 111 : 222 });
      const github = await GitHubFixture.start({
        apps: [{ id: app.appId, publicKey: app.publicKey }],
        installations: [
          {
            id: 1,
            appId: app.appId,
            account: 'acme',
            repositories: ['widgets'],
            permissions: { contents: 'write' },
          },
        ],
        reposDir,
      });
      t.teardown(() => github.stop());
      servers.push(github);
      integrations.push({
        name: `gh-${name}`,
        provider: 'github-app',
        host: github.host,
        appId: app.appId,
        privateKeyPath: app.privateKeyPath,
        apiBaseUrl: github.apiUrl,
      });
    }
    const [a, b] = servers as [GitHubFixture, GitHubFixture];
    const daemon = await startDaemonProcess(dir, { integrations });
    t.teardown(() => daemon.stop());
    a.injectFault({ path: /access_tokens$/, status: 0, delayMs: 1500 });

    const [fromA, fromB] = await Promise.all([
      runHelper(['--socket', daemon.socketPath, 'get'], input(a.host)),
      new Promise((r) => setTimeout(r, 300)).then(() =>
        runHelper(['--socket', daemon.socketPath, 'get'], input(b.host)),
      ),
    ]);

    t.match(fromA.stdout, `password=${a.issuedTokens()[0]}`, 'A gets the token A minted');
    t.match(fromB.stdout, `password=${b.issuedTokens()[0]}`, 'B gets the token B minted');
    t.equal(a.mintCount, 1);
    t.equal(b.mintCount, 1);
  },
);

t.test('control characters from git or GitHub never reach the terminal raw', async (t) => {
  const w = await createBrokerWorld(t.testdir());
  t.teardown(() => w.stop());
  w.github.injectFault({
    path: /\/installation$/,
    status: 400,
    body: { message: '\u001b[2Jtype your password:' },
  });

  const fromGit = await w.git(
    ['credential', 'fill'],
    undefined,
    `url=http://${w.github.host}/acme/%1b]0;pwned%07x\n\n`,
  );
  const fromGitHub = await runHelper(
    ['--socket', w.daemon.socketPath, 'get'],
    input(w.github.host),
    w.env,
  );

  t.match(
    fromGit.stderr,
    /git-credential-broker: malformed request: target\.path contains a control character.*check the remote URL/,
  );
  t.notOk(
    fromGit.stderr.includes('\u001b') || fromGit.stderr.includes('\u0007'),
    'no ESC or BEL from git',
  );
  t.match(fromGitHub.stderr, /type your password/);
  t.notOk(fromGitHub.stderr.includes('\u001b'), 'no ESC from GitHub');
});

t.test('a token a client puts in its request reaches no log', async (t) => {
  // The client already has it; the operators who read the logs must not.
  const token = `ghp_${randomBytes(18).toString('hex')}`;
  const dir = t.testdir({ [token]: {} });
  const w = await createBrokerWorld(join(dir, 'world'));
  t.teardown(() => w.stop());

  // In the path git sends, and in the working directory the helper reports.
  const result = await runHelper(
    ['--socket', w.daemon.socketPath, 'get'],
    input(w.github.host, `acme/${token}.git`),
    w.env,
    { cwd: join(dir, token) },
  );

  t.not(result.code, null);
  const audit = await w.daemon.auditText();
  t.match(audit, /"event":"token\.denied".*\[token removed\]/, 'the request is audited');
  assertNoSecrets(t, { audit, daemon: w.daemon.output() }, [token]);
});
