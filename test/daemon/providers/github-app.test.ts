/**
 * The GitHub App provider against a stub of GitHub's REST API: a real HTTP
 * server on loopback that records what it was sent and answers canned JSON.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import pino from 'pino';
import { GitHubAppProvider } from '../../../daemon/providers/github-app.js';
import { normalizePrivateKey } from '../../../daemon/providers/private-key.js';
import type { RequestContext } from '../../../daemon/provider.js';
import { goneScopeOf } from '../../../daemon/scope-gone.js';

interface Seen {
  method: string;
  url: string;
  authorization: string;
  body: unknown;
}

type Answer = { status: number; body: unknown };

async function stubGitHub(t: Test, answer: (seen: Seen) => Answer) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const record = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization ?? '',
        body: text === '' ? undefined : JSON.parse(text),
      };
      seen.push(record);
      const { status, body } = answer(record);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { seen, apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3` };
}

function provider(
  apiBaseUrl: string,
  permissions: Record<string, 'read' | 'write'> = { contents: 'write' },
  owners?: string[],
) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = normalizePrivateKey(
    privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    'test key',
  );
  const log = pino({ level: 'silent' });
  return {
    publicKey,
    provider: new GitHubAppProvider(
      {
        appId: '4242',
        privateKeyPath: '/keys/app.pem',
        privateKeyPem: pem,
        apiBaseUrl,
        permissions,
        ...(owners ? { owners } : {}),
      },
      { log, now: Date.now },
    ),
  };
}

/** The stub GitHub's token, made at test time. */
const STUB_TOKEN = `ghs_${randomBytes(18).toString('hex')}`;

const context: RequestContext = {
  requestId: 'r',
  requester: { pid: 1, ppid: 0 },
  log: pino({ level: 'silent' }),
};
const target = { protocol: 'https', host: 'github.com', path: 'Acme/Widgets.git' };

const HAPPY = (seen: Seen): Answer =>
  seen.method === 'GET'
    ? { status: 200, body: { id: 99, account: { login: 'acme' } } }
    : {
        status: 201,
        body: {
          token: STUB_TOKEN,
          expires_at: '2030-01-01T00:00:00Z',
          permissions: { contents: 'write', metadata: 'read' },
          repository_selection: 'selected',
          repositories: [{ id: 1, name: 'Widgets', full_name: 'acme/Widgets' }],
        },
      };

function jwtPayload(
  authorization: string,
  publicKey: ReturnType<typeof createPublicKey>,
): Record<string, number> {
  const [, jwt] = authorization.split(' ');
  const [header, payload, signature] = jwt!.split('.');
  const valid = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    publicKey,
    Buffer.from(signature!, 'base64url'),
  );
  if (!valid) throw new Error('JWT signature does not verify');
  return JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, number>;
}

t.test(
  'finds the installation, then mints scoped to the one repository with the configured permissions',
  async (t) => {
    const { seen, apiBaseUrl } = await stubGitHub(t, HAPPY);
    const { provider: github, publicKey } = provider(apiBaseUrl);

    const scope = await github.resolveScope(target, {}, context);
    const envelope = await github.getCredential(target, scope, context);

    t.same(
      seen.map((s) => `${s.method} ${s.url}`),
      [
        'GET /api/v3/repos/Acme/Widgets/installation',
        'POST /api/v3/app/installations/99/access_tokens',
      ],
    );
    t.same(seen[1]!.body, { repositories: ['Widgets'], permissions: { contents: 'write' } });
    const claims = jwtPayload(seen[1]!.authorization, publicKey);
    t.equal(String(claims.iss), '4242');
    t.ok(claims.exp! - claims.iat! <= 600, 'JWT lives at most ten minutes');
    t.match(envelope, {
      secret: STUB_TOKEN,
      username: 'x-access-token',
      expiresAtMs: Date.parse('2030-01-01T00:00:00Z'),
      granted: {
        repositories: ['acme/widgets'],
        permissions: { contents: 'write', metadata: 'read' },
      },
      metadata: { installationId: 99 },
    });
    t.equal(scope.repository, 'acme/widgets');
    t.match(
      scope.cacheKey,
      /github-app\|http:\/\/127\.0\.0\.1:\d+\/api\/v3\|4242\|99\|acme\/widgets\|contents=write/,
    );
  },
);

t.test(
  'remembers the installation, so resolving a known repository again calls nothing',
  async (t) => {
    const { seen, apiBaseUrl } = await stubGitHub(t, HAPPY);
    const { provider: github } = provider(apiBaseUrl);

    await github.resolveScope(target, {}, context);
    await github.resolveScope({ ...target, path: 'acme/widgets' }, {}, context);

    t.equal(seen.length, 1);
  },
);

t.test(
  'narrower requested permissions are minted as asked; wider ones are denied without a call',
  async (t) => {
    const { seen, apiBaseUrl } = await stubGitHub(t, HAPPY);
    const { provider: github } = provider(apiBaseUrl);

    const narrow = await github.resolveScope(
      target,
      { permissions: { contents: 'read' } },
      context,
    );
    await t.rejects(
      async () => github.resolveScope(target, { permissions: { contents: 'admin' } }, context),
      {
        code: 'DENIED',
        message: /permission 'contents: admin' is beyond/,
      },
    );
    await t.rejects(
      async () => github.resolveScope(target, { permissions: { issues: 'read' } }, context),
      {
        code: 'DENIED',
      },
    );
    // Found in a new-user trial: a name GitHub does not have was told to
    // raise the config; it is named as a likely typo instead.
    await t.rejects(
      async () => github.resolveScope(target, { permissions: { content: 'read' } }, context),
      {
        code: 'DENIED',
        message:
          "permission 'content' is not one GitHub documents for App tokens (did you mean 'contents'?); this integration grants contents=write",
      },
    );

    t.same(narrow.permissions, { contents: 'read' });
    t.equal(seen.length, 1, 'only the first lookup reached GitHub');
  },
);

t.test(
  'scopes and credentials of one installation share one frozen permissions and metadata object',
  async (t) => {
    const { apiBaseUrl } = await stubGitHub(t, HAPPY);
    const { provider: github } = provider(apiBaseUrl);
    const other = { ...target, path: 'acme/gadgets' };

    const first = await github.resolveScope(target, {}, context);
    const second = await github.resolveScope(other, {}, context);
    const asked = await github.resolveScope(other, { permissions: { contents: 'write' } }, context);
    const narrow = await github.resolveScope(other, { permissions: { contents: 'read' } }, context);
    const one = await github.getCredential(target, first, context);
    const two = await github.getCredential(target, first, context);

    t.equal(second.permissions, first.permissions);
    t.equal(asked.permissions, first.permissions, 'asking for exactly the ceiling shares it');
    t.not(narrow.permissions, first.permissions);
    t.equal(second.metadata, first.metadata);
    t.equal(one.metadata, first.metadata);
    t.equal(two.granted.permissions, one.granted.permissions, 'equal grants share one object');
    t.same(one.granted.permissions, { contents: 'write', metadata: 'read' });
    t.throws(() => {
      first.permissions.contents = 'admin';
    }, TypeError);
  },
);

t.test('maps GitHub errors to clear reasons', async (t) => {
  const cases: [Answer, { code: string; message: RegExp; quit?: boolean }][] = [
    [
      { status: 404, body: { message: 'Not Found' } },
      { code: 'DENIED', message: /not installed on 'Acme\/Widgets'/ },
    ],
    [
      { status: 401, body: { message: 'A JSON web token could not be decoded' } },
      { code: 'CONFIG', message: /App ID '4242' and private key '\/keys\/app.pem' do not match/ },
    ],
    [
      { status: 403, body: { message: 'This installation has been suspended' } },
      { code: 'DENIED', message: /suspended/ },
    ],
    [
      { status: 503, body: { message: 'unavailable' } },
      { code: 'GITHUB_API', quit: false, message: /HTTP 503/ },
    ],
  ];
  for (const [answer, expected] of cases) {
    const { apiBaseUrl } = await stubGitHub(t, () => answer);
    const { provider: github } = provider(apiBaseUrl);
    await t.rejects(
      async () => github.resolveScope(target, {}, context),
      expected,
      `HTTP ${answer.status}`,
    );
  }
});

t.test('a 422 on mint is denied with the reason GitHub gave', async (t) => {
  const { apiBaseUrl } = await stubGitHub(t, (seen) =>
    seen.method === 'GET'
      ? HAPPY(seen)
      : {
          status: 422,
          body: {
            message:
              'There is at least one repository that does not exist or is not accessible to the parent installation.',
          },
        },
  );
  const { provider: github } = provider(apiBaseUrl);

  const scope = await github.resolveScope(target, {}, context);

  await t.rejects(github.getCredential(target, scope, context), {
    code: 'DENIED',
    message:
      /HTTP 422 "There is at least one repository.*"\); the repository must be one the App is installed on, and the permissions \(the integration's "permissions" in the broker config\) within what the installation was granted$/,
  });
});

t.test('refuses paths that are not one owner/repository', async (t) => {
  const { seen, apiBaseUrl } = await stubGitHub(t, HAPPY);
  const { provider: github } = provider(apiBaseUrl);
  const bad = [
    undefined,
    '',
    'acme',
    'acme/widgets/extra',
    'acme/..',
    'ac me/widgets',
    'acme%2Fwidgets%2Fx',
    'acme/%zz',
  ];

  for (const path of bad) {
    const badTarget =
      path === undefined ? { protocol: 'https', host: 'github.com' } : { ...target, path };
    await t.rejects(
      async () => github.resolveScope(badTarget, {}, context),
      { code: 'DENIED' },
      String(path),
    );
  }
  await t.rejects(
    async () => github.resolveScope({ protocol: 'https', host: 'github.com' }, {}, context),
    {
      message: /git config --global credential\.https:\/\/github\.com\.useHttpPath true/,
    },
  );
  t.equal(seen.length, 0, 'none reached GitHub');
});

t.test(
  'an owner outside the allow-list is denied without calling GitHub, in any case spelling',
  async (t) => {
    const { seen, apiBaseUrl } = await stubGitHub(t, HAPPY);
    const { provider: github } = provider(apiBaseUrl, { contents: 'write' }, ['acme']);

    await t.rejects(
      async () => github.resolveScope({ ...target, path: 'evil/widgets' }, {}, context),
      {
        code: 'DENIED',
        message: /account 'evil' is not in this integration's "owners" \(acme\)/,
      },
    );
    const allowed = await github.resolveScope({ ...target, path: 'ACME/widgets' }, {}, context);

    t.equal(allowed.repository, 'acme/widgets');
    t.equal(seen.length, 1, 'only the allowed owner reached GitHub');
  },
);

t.test('a 404 that is not a GitHub error body points at apiBaseUrl', async (t) => {
  const { apiBaseUrl } = await stubGitHub(t, () => ({
    status: 404,
    body: '<html>not here</html>',
  }));
  const { provider: github } = provider(apiBaseUrl);

  await t.rejects(async () => github.resolveScope(target, {}, context), {
    code: 'DENIED',
    message: /did not come from a GitHub API: check apiBaseUrl/,
  });
});

t.test('built-in property names are not permissions the integration grants', async (t) => {
  const { seen, apiBaseUrl } = await stubGitHub(t, HAPPY);
  const { provider: github } = provider(apiBaseUrl);

  for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
    await t.rejects(
      async () => github.resolveScope(target, { permissions: { [name]: 'admin' } }, context),
      { code: 'DENIED' },
      name,
    );
  }
  t.equal(seen.length, 0, 'none reached GitHub');
});

t.test('git-lfs paths map to the repository', async (t) => {
  const { apiBaseUrl } = await stubGitHub(t, HAPPY);
  const { provider: github } = provider(apiBaseUrl);

  const scope = await github.resolveScope(
    { ...target, path: 'acme/widgets.git/info/lfs' },
    {},
    context,
  );

  t.equal(scope.repository, 'acme/widgets');
});

t.test('a mint answer broader than asked is refused and not handed out', async (t) => {
  const { apiBaseUrl } = await stubGitHub(t, (seen) =>
    seen.method === 'GET'
      ? HAPPY(seen)
      : {
          status: 201,
          body: {
            token: 'ghs_toobroad',
            expires_at: '2030-01-01T00:00:00Z',
            repository_selection: 'all',
            permissions: { contents: 'admin' },
          },
        },
  );
  const { provider: github } = provider(apiBaseUrl);

  const scope = await github.resolveScope(target, {}, context);

  await t.rejects(github.getCredential(target, scope, context), {
    code: 'GITHUB_API',
    message: /covers other repositories/,
  });
});

t.test(
  "a mint's 404 says the installation is gone and looks up every repository it covered again",
  async (t) => {
    let installationId = 99;
    let mintAnswer: Answer | undefined;
    const { seen, apiBaseUrl } = await stubGitHub(t, (request) =>
      request.method === 'GET'
        ? { status: 200, body: { id: installationId, account: { login: 'acme' } } }
        : (mintAnswer ?? HAPPY(request)),
    );
    const { provider: github } = provider(apiBaseUrl);
    const other = { ...target, path: 'acme/gadgets' };
    const widgets = await github.resolveScope(target, {}, context);
    await github.resolveScope(other, {}, context);
    installationId = 100;
    mintAnswer = { status: 404, body: { message: 'Not Found' } };

    const failure: unknown = await github.getCredential(target, widgets, context).catch((e) => e);
    const lookupsBefore = seen.filter((request) => request.method === 'GET').length;
    mintAnswer = undefined;
    const gadgets = await github.resolveScope(other, {}, context);
    const widgetsAgain = await github.resolveScope(target, {}, context);

    t.match(goneScopeOf(failure), {
      metadata: { appId: '4242', installationId: 99 },
      reason: 'installation_removed',
    });
    t.match(failure, { code: 'GITHUB_API' });
    t.equal(gadgets.metadata.installationId, 100, 'a repository whose mint did not 404 too');
    t.equal(widgetsAgain.metadata.installationId, 100);
    t.not(widgetsAgain.cacheKey, widgets.cacheKey, 'the new installation is in the cache key');
    t.equal(seen.filter((request) => request.method === 'GET').length, lookupsBefore + 2);
  },
);

t.test('a mint refused otherwise says nothing is gone', async (t) => {
  const { apiBaseUrl } = await stubGitHub(t, (request) =>
    request.method === 'GET'
      ? HAPPY(request)
      : { status: 403, body: { message: 'This installation has been suspended' } },
  );
  const { provider: github } = provider(apiBaseUrl);
  const scope = await github.resolveScope(target, {}, context);

  const failure: unknown = await github.getCredential(target, scope, context).catch((e) => e);

  t.match(failure, { code: 'DENIED' });
  t.equal(goneScopeOf(failure), undefined);
  t.notOk(
    github.resolveScope(target, {}, context) instanceof Promise,
    'the installation is still known: no lookup',
  );
});
