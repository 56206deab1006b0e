/**
 * The GitHub App uninstalled from an account and installed again (a new
 * installation id), through real git, the real helper, a real daemon and the
 * GitHub-compatible server: the first request after it is served, under the
 * new installation, and nothing of the old one is served or audited as live.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  createBrokerWorld,
  INSTALLATION_ID,
  OWNER,
  type BrokerWorld,
} from '../fixtures/broker-world.js';
import { assertNoSecrets, privateKeyFragments } from '../fixtures/leak-scan.js';

const NEW_INSTALLATION_ID = 40_404;

async function world(t: Test): Promise<BrokerWorld> {
  const w = await createBrokerWorld(t.testdir(), { installed: ['widgets', 'gadgets'] });
  t.teardown(() => w.stop());
  return w;
}

function fillInput(w: BrokerWorld, repo: string): string {
  return `protocol=http\nhost=${w.github.host}\npath=${OWNER}/${repo}.git\n\n`;
}

async function fill(w: BrokerWorld, repo: string) {
  const result = await w.git(['credential', 'fill'], undefined, fillInput(w, repo));
  return { ...result, token: /^password=(.*)$/m.exec(result.stdout)?.[1] };
}

/** What uninstalling the App and installing it again on `acme` does on GitHub. */
function reinstall(w: BrokerWorld): void {
  w.github.uninstall(INSTALLATION_ID);
  w.github.install({
    id: NEW_INSTALLATION_ID,
    appId: w.app.appId,
    account: OWNER,
    repositories: ['widgets', 'gadgets'],
    permissions: { contents: 'write', metadata: 'read' },
  });
}

/** The API calls the fixture answered since `from`, as `METHOD path status`. */
function apiCallsSince(w: BrokerWorld, from: number): string[] {
  return w.github.requests
    .slice(from)
    .filter((request) => request.path.startsWith('/api/v3/'))
    .map(({ method, path, status }) => `${method} ${path.slice('/api/v3'.length)} ${status}`);
}

function secretsOf(w: BrokerWorld): string[] {
  return [...w.github.issuedTokens(), ...privateKeyFragments(w.app.privateKeyPem)];
}

t.test(
  'after a reinstall, the first fill once git erased the dead token gets a token of the new installation',
  async (t) => {
    const w = await world(t);
    const before = await fill(w, 'widgets');
    reinstall(w);
    await w.git(
      ['credential', 'reject'],
      undefined,
      `${fillInput(w, 'widgets').trimEnd()}\nusername=x-access-token\npassword=${before.token}\n\n`,
    );
    const from = w.github.requests.length;

    const after = await fill(w, 'widgets');
    const clone = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'clone')]);

    t.equal(after.code, 0, after.stderr);
    t.equal(after.token, w.github.mints.at(-1)?.token, 'the token just minted');
    t.equal(w.github.mints.at(-1)?.installationId, NEW_INSTALLATION_ID);
    t.same(apiCallsSince(w, from).slice(0, 3), [
      `POST /app/installations/${INSTALLATION_ID}/access_tokens 404`,
      `GET /repos/${OWNER}/widgets/installation 200`,
      `POST /app/installations/${NEW_INSTALLATION_ID}/access_tokens 201`,
    ]);
    t.equal(clone.code, 0, `git clones with it: ${clone.stderr}`);
    t.equal(w.github.mintCount, 2, 'the clone was served the cached new token');
    const records = await w.daemon.auditRecords();
    const minted = records.filter((record) => record.event === 'token.minted');
    t.match(minted.at(-1), { repository: 'acme/widgets', installation: NEW_INSTALLATION_ID });
    t.match(records.at(-1), { event: 'token.cache_hit', installation: NEW_INSTALLATION_ID });
    t.notOk(
      records.some((record) => record.event === 'token.failed' || record.event === 'token.denied'),
      'no request failed',
    );
    assertNoSecrets(t, { daemon: w.daemon.output(), fill: after.stderr }, secretsOf(w));
  },
);

t.test(
  'a reinstall found by one repository drops every cached token of the old installation',
  async (t) => {
    const w = await world(t);
    const oldWidgets = await fill(w, 'widgets');
    // gadgets' installation is known (widgets' lookup does not cover it):
    // looked up now, so that its mint after the reinstall goes to the old id.
    await fill(w, 'gadgets');
    await w.git(
      ['credential', 'reject'],
      undefined,
      `${fillInput(w, 'gadgets').trimEnd()}\nusername=x-access-token\n\n`,
    );
    reinstall(w);

    const gadgets = await fill(w, 'gadgets');
    const widgets = await fill(w, 'widgets');
    const clone = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'clone')]);

    t.equal(gadgets.code, 0, gadgets.stderr);
    t.equal(widgets.code, 0, widgets.stderr);
    t.not(widgets.token, oldWidgets.token, 'the dead cached token is not served');
    t.equal(w.github.mints.at(-1)?.installationId, NEW_INSTALLATION_ID);
    t.equal(clone.code, 0, `git clones with the new token: ${clone.stderr}`);
    const records = await w.daemon.auditRecords();
    t.match(
      records.filter((record) => record.reason === 'installation_removed'),
      [
        {
          event: 'token.revoked',
          outcome: 'expired',
          repository: 'acme/widgets',
          installation: INSTALLATION_ID,
        },
      ],
      'the old widgets token is audited as revoked by upstream, once',
    );
    assertNoSecrets(t, { daemon: w.daemon.output() }, secretsOf(w));
  },
);

t.test(
  'uninstalled and not installed again: the first request says the App is not installed',
  async (t) => {
    const w = await world(t);
    const before = await fill(w, 'widgets');
    w.github.uninstall(INSTALLATION_ID);
    await w.git(
      ['credential', 'reject'],
      undefined,
      `${fillInput(w, 'widgets').trimEnd()}\nusername=x-access-token\npassword=${before.token}\n\n`,
    );

    const after = await fill(w, 'widgets');

    t.not(after.code, 0);
    t.equal(after.token, undefined);
    t.match(
      after.stderr,
      /git-credential-broker: GitHub App '\d+' is not installed on 'acme\/widgets', or that repository does not exist; install the App on it/,
    );
    const records = await w.daemon.auditRecords();
    t.match(records.at(-1), {
      event: 'token.denied',
      repository: 'acme/widgets',
      installation: null,
    });
  },
);

t.test('a second 404, from the new installation too, fails the request: no loop', async (t) => {
  const w = await world(t);
  const before = await fill(w, 'widgets');
  reinstall(w);
  w.github.injectFault({
    path: new RegExp(`/installations/${NEW_INSTALLATION_ID}/access_tokens$`),
    status: 404,
    body: { message: 'Not Found' },
  });
  await w.git(
    ['credential', 'reject'],
    undefined,
    `${fillInput(w, 'widgets').trimEnd()}\nusername=x-access-token\npassword=${before.token}\n\n`,
  );
  const from = w.github.requests.length;

  const failed = await fill(w, 'widgets');
  const calls = apiCallsSince(w, from);
  const next = await fill(w, 'widgets');

  t.not(failed.code, 0);
  t.match(
    failed.stderr,
    /git-credential-broker: GitHub answered HTTP 404.* while minting a token for 'acme\/widgets'.*: the App's installation for 'acme\/widgets' was removed or changed while minting; run git again/,
  );
  t.same(calls, [
    `POST /app/installations/${INSTALLATION_ID}/access_tokens 404`,
    `GET /repos/${OWNER}/widgets/installation 200`,
    `POST /app/installations/${NEW_INSTALLATION_ID}/access_tokens 404`,
  ]);
  t.equal(next.code, 0, `the next request looks up and mints again: ${next.stderr}`);
  t.equal(w.github.mints.at(-1)?.installationId, NEW_INSTALLATION_ID);
});

t.test(
  'a 404 while the lookup still names the same installation is not minted twice',
  async (t) => {
    const w = await world(t);
    w.github.injectFault({ path: /\/access_tokens$/, status: 404, body: { message: 'Not Found' } });
    const from = w.github.requests.length;

    const failed = await fill(w, 'widgets');

    t.not(failed.code, 0);
    t.same(apiCallsSince(w, from), [
      `GET /repos/${OWNER}/widgets/installation 200`,
      `POST /app/installations/${INSTALLATION_ID}/access_tokens 404`,
      `GET /repos/${OWNER}/widgets/installation 200`,
    ]);
    t.equal(w.github.mintCount, 0);
  },
);
