import t from 'tap';
import {
  assertScopeWithin,
  authorizeRequest,
  permissionsBeyond,
  repositoryAllowed,
  type ClientPolicy,
} from '../../daemon/client-policy.js';
import type { CredentialProvider } from '../../daemon/provider.js';
import { parseRepository } from '../../daemon/providers/github-repository.js';
import { RequestDeniedError } from '../../shared/errors.js';

const github = {
  kind: 'github-app',
  repositoryOf: (target) => {
    try {
      return parseRepository(target).key;
    } catch {
      return undefined;
    }
  },
} as CredentialProvider;
/** The integration a policy judges with: its provider and configured host. */
const on = (provider: CredentialProvider, host = 'github.com') => ({ provider, config: { host } });
const provider = on(github);

const policy: ClientPolicy = {
  name: '/run/a.sock',
  allow: ['acme/widgets', 'tools/*'],
  permissions: { contents: 'read', metadata: 'read' },
};

const target = (path?: string) =>
  path === undefined
    ? { protocol: 'https', host: 'github.com' }
    : { protocol: 'https', host: 'github.com', path };

t.test('an owner pattern allows every repository of that owner and no other', async (t) => {
  t.ok(repositoryAllowed(['tools/*'], 'github.com', 'tools/anything'));
  t.notOk(repositoryAllowed(['tools/*'], 'github.com', 'toolsx/anything'));
  t.notOk(repositoryAllowed(['acme/widgets'], 'github.com', 'acme/widgets2'));
});

t.test('a request names a repository the provider normalizes before it is judged', async (t) => {
  t.doesNotThrow(() => authorizeRequest(policy, provider, target('ACME/Widgets.git'), undefined));
  t.throws(
    () => authorizeRequest(policy, provider, target('acme/gadgets'), undefined),
    RequestDeniedError,
  );
});

t.test('a restricted socket denies a target that names no repository', async (t) => {
  t.throws(() => authorizeRequest(policy, provider, target(), undefined), RequestDeniedError);
  t.throws(
    () =>
      authorizeRequest(
        policy,
        on({ kind: 'bare' } as CredentialProvider),
        target('acme/widgets'),
        undefined,
      ),
    RequestDeniedError,
    'a provider that cannot name the repository gets nothing through a restricted socket',
  );
});

t.test('without requested permissions the ceiling is asked for; more is denied', async (t) => {
  t.same(authorizeRequest(policy, provider, target('acme/widgets'), undefined), policy.permissions);
  t.same(authorizeRequest(policy, provider, target('acme/widgets'), { contents: 'read' }), {
    contents: 'read',
  });
  t.throws(() => authorizeRequest(policy, provider, target('acme/widgets'), { contents: 'write' }));
  t.throws(() => authorizeRequest(policy, provider, target('acme/widgets'), { issues: 'read' }));
  t.same(permissionsBeyond({ contents: 'admin' }, { contents: 'write' }), ['contents: admin']);
});

t.test('a resolved scope beyond the policy is refused', async (t) => {
  const scope = {
    cacheKey: 'k',
    repository: 'acme/widgets',
    permissions: { contents: 'write' as const },
    metadata: {},
  };

  t.throws(() => assertScopeWithin(policy, scope, provider, target('acme/widgets')));
  t.throws(() =>
    assertScopeWithin(
      policy,
      { ...scope, repository: 'acme/gadgets', permissions: { contents: 'read' } },
      provider,
      target('acme/widgets'),
    ),
  );
  t.doesNotThrow(() =>
    assertScopeWithin(
      policy,
      { ...scope, permissions: { contents: 'read' } },
      provider,
      target('acme/widgets'),
    ),
  );
});

t.test('an unrestricted socket passes the request through unchanged', async (t) => {
  t.equal(authorizeRequest(undefined, provider, target('any/thing'), undefined), undefined);
});

t.test('an empty permissions object asks for the ceiling, not the provider default', async (t) => {
  t.same(authorizeRequest(policy, provider, target('acme/widgets'), {}), policy.permissions);
});

t.test('a pattern matches only a path of exactly owner/repository', async (t) => {
  for (const repository of ['acme/widgets/extra', 'acme/widgets/x/y', 'acme', 'acme/widgets/.']) {
    t.notOk(repositoryAllowed(['acme/widgets', 'acme/*'], 'github.com', repository), repository);
  }
  t.ok(repositoryAllowed(['acme/widgets'], 'github.com', 'acme/widgets'));
});

t.test('a request with no path on a restricted socket gets the useHttpPath fix', async (t) => {
  const provider = on({ repositoryOf: () => undefined } as unknown as CredentialProvider);

  t.throws(
    () =>
      authorizeRequest(
        { name: 'ro', allow: ['acme/*'] },
        provider,
        { protocol: 'https', host: 'github.com' },
        undefined,
      ),
    {
      code: 'DENIED',
      message: /git config --global credential\.https:\/\/github\.com\.useHttpPath true/,
    },
  );
});

t.test('a pattern with a host allows only on that host; one without, on every host', async (t) => {
  const patterns = ['ghe.example.com/acme/*', 'github.com/tools/cli', 'shared/*'];

  t.ok(repositoryAllowed(patterns, 'ghe.example.com', 'acme/widgets'));
  t.notOk(repositoryAllowed(patterns, 'github.com', 'acme/widgets'), 'acme/* only on ghe');
  t.ok(repositoryAllowed(patterns, 'github.com', 'tools/cli'));
  t.notOk(repositoryAllowed(patterns, 'ghe.example.com', 'tools/cli'));
  t.ok(repositoryAllowed(patterns, 'github.com', 'shared/x'), 'no host: any host');
  t.ok(repositoryAllowed(patterns, '127.0.0.1:8080', 'shared/x'));
  t.notOk(repositoryAllowed(['127.0.0.1:8080/acme/*'], '127.0.0.1:8081', 'acme/x'), 'port counts');
});

t.test('a denial names the host the request was judged for', async (t) => {
  const hosted: ClientPolicy = { name: '/run/b.sock', allow: ['ghe.example.com/acme/*'] };

  t.throws(
    () => authorizeRequest(hosted, on(github, 'github.com'), target('acme/widgets'), undefined),
    {
      code: 'DENIED',
      message:
        "repository 'acme/widgets' on host 'github.com' is not allowed on socket '/run/b.sock'; allowed there: ghe.example.com/acme/*",
    },
  );
  t.doesNotThrow(() =>
    authorizeRequest(hosted, on(github, 'ghe.example.com'), target('acme/widgets'), undefined),
  );
});
