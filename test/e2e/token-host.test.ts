/**
 * `token owner/repo` without --host, through the built helper and a real
 * daemon: served on the one host the daemon has an integration for, and
 * refused, with the hosts to choose from, when it has several.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createBrokerWorld } from '../fixtures/broker-world.js';
import { cli, world } from '../fixtures/cli-world.js';
import { runHelper } from '../fixtures/run-helper.js';

/** A second host, served by a program that never runs here. */
const OTHER = { provider: 'command', host: 'git.example.com', command: ['/bin/false'] };

t.test('token owner/repo goes to the one host the daemon serves, whatever it is', async (t) => {
  // Found in a trial: it meant github.com, even to a daemon serving only
  // another host (a GitHub Enterprise Server), and failed with NO_INTEGRATION.
  const w = await world(t);

  const token = await cli(w, ['token', 'acme/widgets']);
  const records = await w.daemon.auditRecords();

  t.equal(token.code, 0, token.stderr);
  t.ok(token.stdout === `${w.github.issuedTokens()[0]}\n`, 'the raw token');
  t.same(
    records.map((record) => [record['event'], record['target']]),
    [['token.minted', `https://${w.github.host}/acme/widgets`]],
    'requested and audited for the host it was served on',
  );
});

t.test(
  'with several hosts, token owner/repo is refused with the hosts, on every socket',
  async (t) => {
    const sockets = await mkdtemp(join(tmpdir(), 'gcb-hosts-'));
    t.teardown(() => rm(sockets, { recursive: true, force: true }));
    const restricted = join(sockets, 'ci', 'daemon.sock');
    const w = await createBrokerWorld(t.testdir(), {
      bareRepos: false,
      moreIntegrations: [OTHER],
      config: { listeners: [{ socket: restricted, allow: ['acme/*'] }] },
    });
    t.teardown(() => w.stop());
    const several = `no host was named, and this daemon serves several: ${w.github.host}, git.example.com; pass --host with one of them, or give a clone URL`;

    const unnamed = await cli(w, ['token', 'acme/widgets']);
    const json = await cli(w, ['token', 'acme/widgets', '--json']);
    // Host names are no secret: a client held to a policy may learn them too.
    const onListener = await runHelper(
      ['token', 'acme/widgets', '--socket', restricted],
      '',
      w.env,
    );
    const named = await cli(w, ['token', 'acme/widgets', '--host', w.github.host]);
    const typo = await cli(w, ['token', 'acme/widgets', '--host', 'git.exmaple.com']);

    t.equal(unnamed.code, 2, 'the command line lacks what only it can say');
    t.equal(unnamed.stderr, `git-credential-broker: ${several}\n`);
    t.same(JSON.parse(json.stdout), { error: several, code: 'BAD_REQUEST' });
    t.equal(onListener.code, 2);
    t.equal(onListener.stderr, `git-credential-broker: ${several}\n`);
    t.equal(named.code, 0, named.stderr);
    t.equal(typo.code, 1);
    t.match(
      typo.stderr,
      `no integration is configured for host 'git.exmaple.com' (this daemon serves ${w.github.host}, git.example.com); pass --host with the host your integration serves, or a clone URL`,
    );
    t.equal(w.github.mintCount, 1, 'only the named request minted');
    t.same(
      (await w.daemon.auditRecords()).map((record) => record['event']),
      ['token.minted'],
      'a request that named no host is about no credential: not audited',
    );
  },
);
