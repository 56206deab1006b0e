/**
 * The main job end to end: real git, the real helper, a real daemon process
 * and the GitHub-compatible server, all on loopback.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createTestApp } from '../fixtures/app-keys.js';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';
import { assertNoSecrets, privateKeyFragments } from '../fixtures/leak-scan.js';
import { runHelper } from '../fixtures/run-helper.js';

async function world(t: Test, options = {}): Promise<BrokerWorld> {
  const w = await createBrokerWorld(t.testdir(), options);
  t.teardown(() => w.stop());
  return w;
}

function secretsOf(w: BrokerWorld): string[] {
  return [...w.github.issuedTokens(), ...privateKeyFragments(w.app.privateKeyPem)];
}

t.test(
  'clones and pushes with a minted token, then serves the second clone from cache',
  async (t) => {
    const w = await world(t, { notInstalled: ['secret-plans'] });
    const outputs: Record<string, string> = {};

    const first = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'one')]);
    outputs.firstClone = first.stdout + first.stderr;
    t.equal(first.code, 0, `first clone succeeds: ${first.stderr}`);
    t.equal(w.github.mintCount, 1, 'one token minted');
    t.same(w.github.mints[0]!.repositories, ['widgets'], 'scoped to the one repository');
    t.same(w.github.mints[0]!.permissions, { contents: 'write' });

    const second = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'two')]);
    outputs.secondClone = second.stdout + second.stderr;
    t.equal(second.code, 0, 'second clone succeeds');
    t.equal(w.github.mintCount, 1, 'the second clone was served from the cache: still one mint');

    const work = join(w.dir, 'one');
    await writeFile(join(work, 'CHANGE.md'), 'pushed through the broker\n');
    await w.git(['add', 'CHANGE.md'], work);
    await w.git(['commit', '-m', 'change'], work);
    const push = await w.git(['push', 'origin', 'HEAD:main'], work);
    outputs.push = push.stdout + push.stderr;
    t.equal(push.code, 0, `push succeeds: ${push.stderr}`);
    t.equal(w.github.mintCount, 1, 'the push reused the cached token');

    const check = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'three')]);
    t.equal(check.code, 0);
    const log = await w.git(['log', '--oneline', '-1'], join(w.dir, 'three'));
    t.match(log.stdout, /change/, 'the pushed commit is on the server');

    const events = (await w.daemon.auditRecords()).map((record) => record.event);
    t.equal(events[0], 'token.minted');
    t.ok(events.length >= 3, 'every git request was audited');
    t.ok(
      events.slice(1).every((event) => event === 'token.cache_hit'),
      `then only cache hits: ${events.join(', ')}`,
    );

    outputs.daemon = w.daemon.output();
    outputs.audit = await w.daemon.auditText();
    assertNoSecrets(t, outputs, secretsOf(w));
  },
);

t.test(
  'a repository the App is not installed on fails fast with a reason and no prompt',
  async (t) => {
    const w = await world(t, { notInstalled: ['secret-plans'] });

    const started = Date.now();
    const clone = await w.git(['clone', w.cloneUrl('secret-plans'), join(w.dir, 'nope')]);
    const elapsedMs = Date.now() - started;

    t.not(clone.code, 0);
    t.match(
      clone.stderr,
      /git-credential-broker: GitHub App '\d+' is not installed on 'acme\/secret-plans'/,
    );
    t.notMatch(clone.stderr, /Username for/, 'git did not fall back to a prompt');
    t.ok(elapsedMs < 30_000, 'it fails rather than hanging');
    t.equal(w.github.mintCount, 0, 'nothing was minted');
    const records = await w.daemon.auditRecords();
    t.match(records.at(-1), { event: 'token.denied', repository: 'acme/secret-plans' });
    assertNoSecrets(t, { clone: clone.stderr, daemon: w.daemon.output() }, secretsOf(w));
  },
);

t.test('a read-only integration can clone but not push, and says so', async (t) => {
  const w = await world(t, { permissions: { contents: 'read' } });

  const clone = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'ro')]);
  const work = join(w.dir, 'ro');
  await writeFile(join(work, 'x.md'), 'x\n');
  await w.git(['add', 'x.md'], work);
  await w.git(['commit', '-m', 'x'], work);
  const push = await w.git(['push', 'origin', 'HEAD:main'], work);

  t.equal(clone.code, 0);
  t.not(push.code, 0);
  t.match(push.stderr, /403|Write access to repository not granted/);
  t.same(w.github.mints[0]!.permissions, { contents: 'read' });
});

t.test(
  'git credential fill returns a scoped token with its expiry, and reject erases it',
  async (t) => {
    const w = await world(t);
    const input = `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n\n`;

    const fill = await w.git(['credential', 'fill'], undefined, input);
    const token = /^password=(.*)$/m.exec(fill.stdout)?.[1] ?? '';
    // git before 2.40 drops password_expiry_utc from fill's output: ask the helper itself.
    const direct = await runHelper(['--socket', w.daemon.socketPath, 'get'], input, w.env);
    const expiry = Number(/^password_expiry_utc=(\d+)$/m.exec(direct.stdout)?.[1]);
    await w.git(
      ['credential', 'reject'],
      undefined,
      `${input.trimEnd()}\nusername=x-access-token\npassword=${token}\n\n`,
    );
    await w.git(['credential', 'fill'], undefined, input);

    t.match(fill.stdout, /^username=x-access-token$/m);
    t.equal(token, w.github.issuedTokens()[0], 'the token GitHub minted');
    t.match(direct.stdout, `password=${token}`, 'the helper serves the same token from cache');
    t.ok(
      Math.abs(expiry * 1000 - w.github.mints[0]!.expiresAtMs) < 1000,
      'expiry matches the token',
    );
    t.equal(w.github.mintCount, 2, 'after reject, the next fill mints afresh');
    const events = (await w.daemon.auditRecords()).map((record) => record.event);
    t.same(events, [
      'token.minted',
      'token.cache_hit',
      'token.erased',
      'token.revoked',
      'token.minted',
    ]);
  },
);

t.test('with the daemon down, git gets one clear line and no credential', async (t) => {
  const w = await world(t);
  await w.daemon.stop();

  const clone = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'down')]);

  t.not(clone.code, 0);
  t.match(
    clone.stderr,
    // The helper runs with --socket: the way to start it names that socket.
    /git-credential-broker: .*daemon.*; start it with: git-credential-broker daemon --detach --socket \S+daemon\.sock$/m,
  );
  t.equal(w.github.mintCount, 0);
});

t.test(
  'a private key that does not belong to the App fails with the fix, not the key',
  async (t) => {
    // Not in t.testdir(): the world's setup empties that directory.
    const keys = await mkdtemp(join(tmpdir(), 'gcb-key-'));
    t.teardown(() => rm(keys, { recursive: true, force: true }));
    const stranger = await createTestApp(keys, { appId: 1 });
    const w = await world(t, { integration: { privateKeyPath: stranger.privateKeyPath } });

    const result = await runHelper(
      ['--socket', w.daemon.socketPath, 'get'],
      `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n\n`,
    );

    t.match(
      result.stderr,
      /App ID '\d+' and private key '.*' do not match; use the key generated for that App/,
    );
    t.match(result.stdout, /^quit=1$/m);
    assertNoSecrets(
      t,
      {
        helper: result.stdout + result.stderr,
        daemon: w.daemon.output(),
        audit: await w.daemon.auditText(),
      },
      [...privateKeyFragments(stranger.privateKeyPem), ...privateKeyFragments(w.app.privateKeyPem)],
    );
  },
);
