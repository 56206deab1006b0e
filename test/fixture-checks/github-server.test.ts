import { randomBytes, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { createTestApp } from '../fixtures/app-keys.js';
import type { TestApp } from '../fixtures/app-keys.js';
import { createBareRepo, isolatedGitEnv, runGit } from '../fixtures/git.js';
import { GitHubFixture } from '../fixtures/github-server.js';
import type { FixtureInstallation, GitHubFixtureOptions } from '../fixtures/github-server.js';

const ALL_OF_ACME = 101;
const OTHER_ORG_SECRETS = 102;
const OTHER_APPS = 103;
const SUSPENDED = 104;

interface World {
  dir: string;
  reposDir: string;
  app: TestApp;
  otherApp: TestApp;
  fixture: GitHubFixture;
  /** The fixture's clock, for signing JWTs it will accept. */
  now: () => number;
}

/** Two apps, three repositories, four installations, one fixture server. */
async function startWorld(
  t: Test,
  opts: Partial<Pick<GitHubFixtureOptions, 'now' | 'tokenLifetimeMs'>> = {},
): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'github-fixture-'));
  const started: GitHubFixture[] = [];
  // One teardown, so the server stops before its repositories disappear.
  t.teardown(async () => {
    for (const fixture of started) await fixture.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const reposDir = join(dir, 'repos');
  // otherApp's key (and any stranger's) is new each time, so unlike app's.
  const app = await createTestApp(dir, { sharedKey: true });
  const otherApp = await createTestApp(dir, { format: 'pkcs8' });
  await createBareRepo(reposDir, 'acme', 'widgets');
  await createBareRepo(reposDir, 'acme', 'Gadgets');
  await createBareRepo(reposDir, 'other-org', 'secrets');
  const installations: FixtureInstallation[] = [
    {
      id: ALL_OF_ACME,
      appId: app.appId,
      account: 'acme',
      repositories: 'all',
      permissions: { contents: 'write', metadata: 'read', issues: 'read' },
    },
    {
      id: OTHER_ORG_SECRETS,
      appId: app.appId,
      account: 'other-org',
      repositories: ['secrets'],
      permissions: { contents: 'read', metadata: 'read' },
    },
    {
      id: OTHER_APPS,
      appId: otherApp.appId,
      account: 'elsewhere',
      repositories: 'all',
      permissions: { contents: 'read' },
    },
    {
      id: SUSPENDED,
      appId: app.appId,
      account: 'frozen',
      accountType: 'User',
      repositories: ['ice'],
      permissions: { contents: 'read' },
      suspended: true,
    },
  ];
  const fixture = await GitHubFixture.start({
    apps: [
      { id: app.appId, clientId: app.clientId, publicKey: app.publicKey },
      { id: otherApp.appId, publicKey: otherApp.publicKey },
    ],
    installations,
    reposDir,
    ...opts,
  });
  started.push(fixture);
  return { dir, reposDir, app, otherApp, fixture, now: opts.now ?? Date.now };
}

function signJwt(
  privateKeyPem: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' },
): string {
  const encode = (part: unknown) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const signed = `${encode(header)}.${encode(claims)}`;
  const signature = sign('RSA-SHA256', Buffer.from(signed), privateKeyPem);
  return `${signed}.${signature.toString('base64url')}`;
}

/** A JWT as careful clients make it: iat a minute back, nine minutes to live. */
function appJwt(app: TestApp, claims: Record<string, unknown> = {}, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000) - 60;
  return signJwt(app.privateKeyPem, { iat, exp: iat + 600, iss: app.appId, ...claims });
}

async function api(
  fixture: GitHubFixture,
  method: string,
  path: string,
  opts: { authorization?: string; jwt?: string; body?: unknown } = {},
) {
  const authorization = opts.authorization ?? (opts.jwt ? `Bearer ${opts.jwt}` : undefined);
  const res = await fetch(`${fixture.apiUrl}${path}`, {
    method,
    headers: {
      Accept: 'application/vnd.github+json',
      ...(authorization && { Authorization: authorization }),
    },
    ...(opts.body !== undefined && {
      body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    }),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are only asserted on, and typing every shape would bury the assertions
  const json: Record<string, any> = text === '' ? {} : JSON.parse(text);
  return { status: res.status, headers: res.headers, json };
}

async function mint(world: World, installationId: number, body?: unknown) {
  return api(world.fixture, 'POST', `/app/installations/${installationId}/access_tokens`, {
    jwt: appJwt(world.app, {}, world.now()),
    body,
  });
}

async function mintToken(world: World, installationId: number, body?: unknown): Promise<string> {
  const res = await mint(world, installationId, body);
  if (res.status !== 201) throw new Error(`mint answered ${res.status}`);
  return res.json['token'] as string;
}

/** Runs git with a credential helper that answers with $TOKEN. */
function gitWithToken(world: World, args: string[], token: string, cwd?: string) {
  const helper = '!f() { echo username=x-access-token; echo password=$TOKEN; }; f';
  return runGit(['-c', 'credential.helper=', '-c', `credential.helper=${helper}`, ...args], {
    cwd,
    env: isolatedGitEnv(world.dir, { TOKEN: token }),
  });
}

function cloneUrl(world: World, owner: string, repo: string): string {
  return `${world.fixture.gitBaseUrl}/${owner}/${repo}.git`;
}

t.test('app JWT authentication', async (t) => {
  const world = await startWorld(t);
  const { app, otherApp, fixture } = world;
  const stranger = await createTestApp(world.dir);
  const nowS = Math.floor(Date.now() / 1000);

  t.test('accepts a JWT signed with the app key and answers with the app', async (t) => {
    const res = await api(fixture, 'GET', '/app', { jwt: appJwt(app) });

    t.equal(res.status, 200);
    t.match(res.json, {
      id: app.appId,
      client_id: app.clientId,
      slug: String,
      owner: { login: String },
    });
    t.match(res.headers.get('content-type'), 'application/json; charset=utf-8');
  });

  t.test('accepts the client ID as issuer, a string App ID and lowercase bearer', async (t) => {
    const byClientId = appJwt(app, { iss: app.clientId });
    const byStringId = appJwt(app, { iss: String(app.appId) });

    const first = await api(fixture, 'GET', '/app', { authorization: `bearer ${byClientId}` });
    const second = await api(fixture, 'GET', '/app', { jwt: byStringId });

    t.equal(first.status, 200);
    t.equal(second.status, 200);
  });

  const undecodable = 'A JSON web token could not be decoded';
  const rejections: Array<[string, () => string | undefined, string]> = [
    ['a JWT signed by another key', () => appJwt(stranger, { iss: app.appId }), undecodable],
    [
      'a JWT naming another app than its signer',
      () => appJwt(app, { iss: otherApp.appId }),
      undecodable,
    ],
    ['a JWT naming an unknown app', () => appJwt(stranger), undecodable],
    ['a missing Authorization header', () => undefined, undecodable],
    ['a token that is not a JWT', () => 'not.a-jwt', undecodable],
    [
      'an HS256 JWT',
      () => signJwt(app.privateKeyPem, { iss: app.appId }, { alg: 'HS256' }),
      undecodable,
    ],
    [
      'an expired JWT',
      () => signJwt(app.privateKeyPem, { iss: app.appId, iat: nowS - 700, exp: nowS - 100 }),
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    ],
    [
      'a JWT living longer than ten minutes',
      () => signJwt(app.privateKeyPem, { iss: app.appId, iat: nowS - 30, exp: nowS + 600 }),
      "'Expiration time' claim ('exp') is too far in the future",
    ],
    [
      'a JWT issued in the future',
      () => signJwt(app.privateKeyPem, { iss: app.appId, iat: nowS + 120, exp: nowS + 300 }),
      "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
    ],
  ];
  for (const [what, makeJwt, message] of rejections) {
    t.test(`rejects ${what} with GitHub's 401 message`, async (t) => {
      const jwt = makeJwt();

      const res = await api(fixture, 'GET', '/app', jwt === undefined ? {} : { jwt });

      t.equal(res.status, 401);
      t.same(res.json, {
        message,
        documentation_url: 'https://docs.github.com/rest',
        status: '401',
      });
    });
  }
});

t.test('judges JWTs by the injected clock and reports that clock in Date', async (t) => {
  const skewMs = 2 * 60 * 60 * 1000;
  const world = await startWorld(t, { now: () => Date.now() + skewMs });

  const local = await api(world.fixture, 'GET', '/app', { jwt: appJwt(world.app) });
  const serverDateMs = Date.parse(local.headers.get('date') ?? '');
  const corrected = await api(world.fixture, 'GET', '/app', {
    jwt: appJwt(world.app, {}, serverDateMs),
  });

  t.equal(local.status, 401);
  t.match(local.json['message'], /'exp'\) must be a numeric value/);
  t.ok(Math.abs(serverDateMs - (Date.now() + skewMs)) < 5000, 'Date carries the fixture clock');
  t.equal(corrected.status, 200);
});

t.test('installation lookup', async (t) => {
  const world = await startWorld(t);
  const jwt = appJwt(world.app);

  t.test('finds the installation covering a repository, ignoring case', async (t) => {
    const res = await api(world.fixture, 'GET', '/repos/ACME/gadgets/installation', { jwt });

    t.equal(res.status, 200);
    t.match(res.json, {
      id: ALL_OF_ACME,
      app_id: world.app.appId,
      account: { login: 'acme', type: 'Organization' },
      repository_selection: 'all',
      target_type: 'Organization',
      permissions: { contents: 'write' },
      suspended_at: null,
    });
  });

  t.test('answers 404 for a repository no installation of the app covers', async (t) => {
    const missing = await api(world.fixture, 'GET', '/repos/acme/nope/installation', { jwt });
    const otherApps = await api(world.fixture, 'GET', '/repos/elsewhere/x/installation', { jwt });

    t.equal(missing.status, 404);
    t.equal(missing.json['message'], 'Not Found');
    t.equal(otherApps.status, 404);
  });

  t.test('finds installations by organization and by user', async (t) => {
    const org = await api(world.fixture, 'GET', '/orgs/other-org/installation', { jwt });
    const user = await api(world.fixture, 'GET', '/users/frozen/installation', { jwt });
    const userAsOrg = await api(world.fixture, 'GET', '/orgs/frozen/installation', { jwt });

    t.equal(org.json['id'], OTHER_ORG_SECRETS);
    t.match(user.json, { id: SUSPENDED, suspended_at: String, target_type: 'User' });
    t.equal(userAsOrg.status, 404);
  });

  t.test("lists only the app's installations, a page at a time", async (t) => {
    const first = await api(world.fixture, 'GET', '/app/installations?per_page=2', { jwt });
    const second = await api(world.fixture, 'GET', '/app/installations?per_page=2&page=2', { jwt });

    t.same(
      first.json.map((i: { id: number }) => i.id),
      [ALL_OF_ACME, OTHER_ORG_SECRETS],
    );
    t.match(first.headers.get('link'), /[?&]page=2>; rel="next"/);
    t.same(
      second.json.map((i: { id: number }) => i.id),
      [SUSPENDED],
    );
    t.notMatch(second.headers.get('link') ?? '', /rel="next"/);
  });
});

t.test('minting installation tokens', async (t) => {
  let clockMs = Date.UTC(2030, 0, 1, 12, 0, 0, 0);
  const world = await startWorld(t, { now: () => clockMs });

  t.test('answers 201 with a scoped token living one hour', async (t) => {
    const res = await mint(world, ALL_OF_ACME, {
      repositories: ['Widgets'],
      permissions: { contents: 'read' },
    });

    t.equal(res.status, 201);
    t.match(res.json['token'], /^ghs_[A-Za-z0-9]{36}$/);
    t.equal(res.json['expires_at'], '2030-01-01T13:00:00Z');
    t.same(res.json['permissions'], { contents: 'read' });
    t.equal(res.json['repository_selection'], 'selected');
    t.match(res.json['repositories'], [
      {
        id: Number,
        node_id: String,
        name: 'widgets',
        full_name: 'acme/widgets',
        private: true,
        owner: { login: 'acme' },
      },
    ]);
    t.equal(res.json['repositories'].length, 1);
    t.match(world.fixture.mints.at(-1), {
      installationId: ALL_OF_ACME,
      repositories: ['widgets'],
      permissions: { contents: 'read' },
      token: res.json['token'],
      expiresAtMs: clockMs + 60 * 60 * 1000,
    });
  });

  t.test("grants all the installation's permissions when none are asked for", async (t) => {
    const res = await mint(world, ALL_OF_ACME);

    t.equal(res.status, 201);
    t.same(res.json['permissions'], { contents: 'write', metadata: 'read', issues: 'read' });
    t.equal(res.json['repository_selection'], 'all');
    t.notOk('repositories' in res.json, 'an unscoped token lists no repositories');
  });

  t.test('takes repository ids as well as names', async (t) => {
    const id = world.fixture.repositoryId('acme', 'Gadgets');

    const res = await mint(world, ALL_OF_ACME, { repository_ids: [id] });

    t.equal(res.status, 201);
    t.same(
      res.json['repositories'].map((r: { id: number }) => r.id),
      [id],
    );
  });

  t.test('counts only the mints it answered with 201', async (t) => {
    const before = world.fixture.mintCount;

    await mint(world, ALL_OF_ACME);
    await mint(world, ALL_OF_ACME, { repositories: ['nope'] });

    t.equal(world.fixture.mintCount, before + 1);
  });

  const refusals: Array<[string, number, unknown, number, string]> = [
    [
      'a repository outside the installation',
      OTHER_ORG_SECRETS,
      { repositories: ['widgets'] },
      422,
      'There is at least one repository that does not exist or is not accessible to the parent installation.',
    ],
    [
      'a permission above the installation grant',
      OTHER_ORG_SECRETS,
      { permissions: { contents: 'write' } },
      422,
      'The permissions requested are not granted to this installation.',
    ],
    [
      'a permission the installation lacks',
      ALL_OF_ACME,
      { permissions: { administration: 'read' } },
      422,
      'The permissions requested are not granted to this installation.',
    ],
    ['a malformed body', ALL_OF_ACME, { repositories: 'widgets' }, 422, 'Invalid request.'],
    ['a suspended installation', SUSPENDED, undefined, 403, 'This installation has been suspended'],
    ["another app's installation", OTHER_APPS, undefined, 404, 'Not Found'],
    ['an installation that does not exist', 999, undefined, 404, 'Not Found'],
  ];
  for (const [what, installationId, body, status, message] of refusals) {
    t.test(`refuses ${what} with ${status}`, async (t) => {
      const res = await mint(world, installationId, body);

      t.equal(res.status, status);
      t.equal(res.json['status'], String(status));
      t.ok(res.json['message'].startsWith(message), res.json['message']);
    });
  }

  t.test('stops honouring a token once its hour has passed', async (t) => {
    const token = await mintToken(world, ALL_OF_ACME);

    clockMs += 60 * 60 * 1000;
    const res = await api(world.fixture, 'DELETE', '/installation/token', {
      authorization: `token ${token}`,
    });

    t.equal(res.status, 401);
    t.equal(res.json['message'], 'Bad credentials');
  });
});

t.test('revokes a token once, then calls it bad credentials', async (t) => {
  const world = await startWorld(t);
  const token = await mintToken(world, ALL_OF_ACME);

  const first = await api(world.fixture, 'DELETE', '/installation/token', {
    authorization: `Bearer ${token}`,
  });
  const second = await api(world.fixture, 'DELETE', '/installation/token', {
    authorization: `token ${token}`,
  });

  t.equal(first.status, 204);
  t.equal(second.status, 401);
  t.equal(second.json['message'], 'Bad credentials');
});

t.test('git over smart HTTP', async (t) => {
  const world = await startWorld(t);
  const { fixture } = world;
  const secretsSeen: string[] = [];
  const git = async (args: string[], token: string, cwd?: string) => {
    const result = await gitWithToken(world, args, token, cwd);
    secretsSeen.push(result.stdout, result.stderr);
    return result;
  };

  t.test('clones with a valid token from a credential helper', async (t) => {
    const token = await mintToken(world, ALL_OF_ACME, { repositories: ['widgets'] });
    const dest = join(world.dir, 'clone-valid');

    const result = await git(['clone', cloneUrl(world, 'acme', 'widgets'), dest], token);

    t.equal(result.code, 0, result.stderr);
    const log = await runGit(['log', '--format=%s'], { cwd: dest, env: isolatedGitEnv(world.dir) });
    t.equal(log.stdout.trim(), 'Initial commit');
  });

  t.test('finds a repository whatever the case and with or without .git', async (t) => {
    const token = await mintToken(world, ALL_OF_ACME);
    const dest = join(world.dir, 'clone-case');

    const result = await git(['clone', `${fixture.gitBaseUrl}/ACME/gadgets`, dest], token);

    t.equal(result.code, 0, result.stderr);
  });

  t.test('answers Repository not found for a repository the token does not cover', async (t) => {
    const token = await mintToken(world, ALL_OF_ACME, { repositories: ['gadgets'] });

    const result = await git(
      ['clone', cloneUrl(world, 'acme', 'widgets'), join(world.dir, 'nf')],
      token,
    );

    t.not(result.code, 0);
    t.match(result.stderr, 'Repository not found.');
  });

  t.test("answers Repository not found for another account's repository", async (t) => {
    const token = await mintToken(world, ALL_OF_ACME);

    const result = await git(
      ['clone', cloneUrl(world, 'other-org', 'secrets'), join(world.dir, 'oa')],
      token,
    );

    t.not(result.code, 0);
    t.match(result.stderr, 'Repository not found.');
  });

  t.test('lets a write token push and refuses a read-only one with 403', async (t) => {
    const writeToken = await mintToken(world, ALL_OF_ACME, { repositories: ['widgets'] });
    const readToken = await mintToken(world, ALL_OF_ACME, {
      repositories: ['widgets'],
      permissions: { contents: 'read' },
    });
    const work = join(world.dir, 'clone-push');
    await git(['clone', cloneUrl(world, 'acme', 'widgets'), work], readToken);
    await writeFile(join(work, 'change.txt'), 'pushed\n');
    const env = isolatedGitEnv(world.dir);
    await runGit(['add', 'change.txt'], { cwd: work, env });
    await runGit(['commit', '-m', 'Change'], { cwd: work, env });

    const refused = await git(['push', 'origin', 'main'], readToken, work);
    const accepted = await git(['push', 'origin', 'main'], writeToken, work);

    t.not(refused.code, 0);
    t.match(refused.stderr, 'Write access to repository not granted.');
    t.match(refused.stderr, '403');
    t.equal(accepted.code, 0, accepted.stderr);
    const remoteLog = await runGit(
      ['--git-dir', join(world.reposDir, 'acme', 'widgets.git'), 'log', '--format=%s', 'main'],
      { env },
    );
    t.equal(remoteLog.stdout.trim(), 'Change\nInitial commit');
  });

  t.test('takes a push bigger than git buffers, sent chunked', async (t) => {
    const token = await mintToken(world, ALL_OF_ACME, { repositories: ['gadgets'] });
    const work = join(world.dir, 'clone-big');
    await git(['clone', cloneUrl(world, 'acme', 'gadgets'), work], token);
    // Random bytes do not compress, so the pack outgrows http.postBuffer (1 MiB).
    await writeFile(join(work, 'blob.bin'), randomBytes(3 * 1024 * 1024));
    const env = isolatedGitEnv(world.dir);
    await runGit(['add', 'blob.bin'], { cwd: work, env });
    await runGit(['commit', '-m', 'Big'], { cwd: work, env });

    const pushed = await git(['push', 'origin', 'main'], token, work);
    const fetched = await git(['fetch', 'origin'], token, work);

    t.equal(pushed.code, 0, pushed.stderr);
    t.equal(fetched.code, 0, fetched.stderr);
  });

  t.test('refuses an expired token with 401', async (t) => {
    const token = await mintToken(world, ALL_OF_ACME);
    fixture.expireToken(token);

    const result = await git(
      ['clone', cloneUrl(world, 'acme', 'widgets'), join(world.dir, 'exp')],
      token,
    );

    t.not(result.code, 0);
    t.match(result.stderr, 'Authentication failed');
    t.match(fixture.requests.at(-1), {
      method: 'GET',
      path: '/acme/widgets.git/info/refs',
      status: 401,
    });
  });

  t.test('asks for Basic credentials when none are sent', async (t) => {
    const res = await fetch(
      `${cloneUrl(world, 'acme', 'widgets')}/info/refs?service=git-upload-pack`,
    );
    const body = await res.text();
    secretsSeen.push(body);

    t.equal(res.status, 401);
    t.equal(res.headers.get('www-authenticate'), 'Basic realm="GitHub"');
    t.ok(body.length > 0, 'explains itself in the body');
  });

  // Last, so it sees what every test above made git print.
  t.test('never lets a token reach what git prints', async (t) => {
    const tokens = fixture.issuedTokens();

    const leaked = tokens.filter((token) => secretsSeen.some((text) => text.includes(token)));

    t.ok(tokens.length >= 5, 'the tests above minted tokens');
    t.same(leaked, []);
  });
});

t.test('fault injection', async (t) => {
  const world = await startWorld(t);
  const jwt = appJwt(world.app);

  t.test('answers the injected status once, then normally', async (t) => {
    world.fixture.injectFault({ path: /^\/api\/v3\/app$/, status: 503 });

    const faulted = await api(world.fixture, 'GET', '/app', { jwt });
    const normal = await api(world.fixture, 'GET', '/app', { jwt });

    t.equal(faulted.status, 503);
    t.match(faulted.json, { message: 'Service Unavailable', status: '503' });
    t.equal(normal.status, 200);
    t.match(world.fixture.requests.slice(-2), [
      { path: '/api/v3/app', status: 503 },
      { status: 200 },
    ]);
  });

  t.test('honours method, times, headers and body', async (t) => {
    world.fixture.injectFault({
      method: 'POST',
      path: /access_tokens$/,
      status: 429,
      headers: { 'Retry-After': '7' },
      body: { message: 'slow down' },
      times: 2,
    });

    const get = await api(world.fixture, 'GET', '/app', { jwt });
    const first = await mint(world, ALL_OF_ACME);
    const second = await mint(world, ALL_OF_ACME);
    const third = await mint(world, ALL_OF_ACME);

    t.equal(get.status, 200);
    t.equal(first.status, 429);
    t.equal(first.headers.get('retry-after'), '7');
    t.same(first.json, { message: 'slow down' });
    t.equal(second.status, 429);
    t.equal(third.status, 201);
  });

  t.test('only delays when the status is 0', async (t) => {
    world.fixture.injectFault({ path: /^\/api\/v3\/app$/, status: 0, delayMs: 300 });

    const started = Date.now();
    const res = await api(world.fixture, 'GET', '/app', { jwt });

    t.equal(res.status, 200);
    t.ok(Date.now() - started >= 290, 'the answer came after the delay');
  });
});

t.test('stop closes the server even with a request held by a delay', async (t) => {
  const world = await startWorld(t);
  world.fixture.injectFault({ path: /.*/, status: 0, delayMs: 60_000 });
  const held = fetch(`${world.fixture.apiUrl}/app`).catch((err: unknown) => err);
  await new Promise((resolve) => setTimeout(resolve, 100));

  const started = Date.now();
  await world.fixture.stop();

  t.ok(Date.now() - started < 5000, 'stop did not wait for the delay');
  t.type(await held, Error);
  await t.rejects(fetch(`${world.fixture.apiUrl}/app`));
});
