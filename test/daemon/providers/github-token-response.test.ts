import t from 'tap';
import { readMintResponse } from '../../../daemon/providers/github-token-response.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const request = {
  repository: 'acme/widgets',
  name: 'widgets',
  permissions: { contents: 'write' as const },
  nowMs: NOW,
};
const good = {
  token: 'ghs_0123456789abcdef',
  expires_at: '2026-12-04T13:00:00Z',
  permissions: { contents: 'write', metadata: 'read' },
  repository_selection: 'selected',
  repositories: [{ id: 1, name: 'widgets' }],
};

t.test('reads a well-formed answer, keeping the implicit metadata:read', async (t) => {
  t.same(readMintResponse(good, request), {
    secret: good.token,
    expiresAtMs: Date.parse(good.expires_at),
    permissions: { contents: 'write', metadata: 'read' },
  });
});

t.test('refuses every answer git could not use or that grants more than asked', async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 'ghs_x', /is not a JSON object/],
    ['no token', { ...good, token: undefined }, /no usable "token"/],
    ['a numeric token', { ...good, token: 12345 }, /no usable "token"/],
    ['a token with a newline', { ...good, token: 'ghs_a\nquit=1' }, /no usable "token"/],
    ['garbage expiry', { ...good, expires_at: 'garbage' }, /no valid "expires_at"/],
    ['an expiry in the past', { ...good, expires_at: '2001-01-01T00:00:00Z' }, /already expired/],
    [
      'every repository',
      { ...good, repository_selection: 'all', repositories: undefined },
      /covers other repositories/,
    ],
    [
      'another repository',
      { ...good, repositories: [{ name: 'gadgets' }] },
      /covers other repositories/,
    ],
    [
      'two repositories',
      { ...good, repositories: [{ name: 'widgets' }, { name: 'gadgets' }] },
      /covers other repositories/,
    ],
    [
      'a wider level',
      { ...good, permissions: { contents: 'admin' } },
      /grants more than asked \('contents: admin'\)/,
    ],
    [
      'an extra permission',
      { ...good, permissions: { contents: 'write', administration: 'write' } },
      /grants more than asked/,
    ],
    ['an unknown level', { ...good, permissions: { contents: 'everything' } }, /unknown level/],
  ];
  for (const [name, data, message] of cases) {
    const error = (() => {
      try {
        readMintResponse(data, request);
        return undefined;
      } catch (e) {
        return e as Error;
      }
    })();
    t.match(error, { code: 'GITHUB_API', message }, name);
    t.notMatch(error?.message ?? '', /ghs_/, `${name}: the token is not quoted`);
  }
});
