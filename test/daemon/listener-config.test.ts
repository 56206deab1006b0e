import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadConfig } from '../../daemon/config.js';
import { plannedListeners } from '../../daemon/listener.js';

function configWith(t: Test, extra: Record<string, unknown>): string {
  const dir = t.testdir();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'app.pem'), privateKey.export({ type: 'pkcs1', format: 'pem' }), {
    mode: 0o600,
  });
  const integration = {
    provider: 'github-app',
    host: 'github.com',
    appId: 1,
    privateKeyPath: 'app.pem',
  };
  const path = join(dir, 'broker.json');
  writeFileSync(path, JSON.stringify({ integrations: [integration], ...extra }));
  return path;
}

t.test('listeners load with lowercase patterns and sockets relative to the config', async (t) => {
  const path = configWith(t, {
    listeners: [{ socket: 'ci.sock', allow: ['Acme/*'], permissions: { contents: 'read' } }],
    revokeOnShutdown: true,
  });

  const config = await loadConfig(path, {});

  t.equal(config.listeners.length, 1);
  t.equal(config.listeners[0]!.socket, join(path, '..', 'ci.sock'));
  t.same(config.listeners[0]!.policy.allow, ['acme/*']);
  t.same(config.listeners[0]!.policy.permissions, { contents: 'read' });
  t.equal(config.revokeOnShutdown, true);
});

t.test('without listeners the daemon has none and does not revoke at shutdown', async (t) => {
  const config = await loadConfig(configWith(t, {}), {});

  t.same(config.listeners, []);
  t.equal(config.revokeOnShutdown, false);
});

t.test('a bad pattern, key or duplicate socket is a config error naming it', async (t) => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ listeners: [{ socket: 'a.sock', allow: ['acme'] }] }, /listeners\[0\]\.allow\[0\]/],
    [{ listeners: [{ socket: 'a.sock', allow: ['*/*'] }] }, /listeners\[0\]\.allow\[0\]/],
    [{ listeners: [{ socket: 'a.sock', allow: ['acme/../x'] }] }, /allow\[0\]/],
    [{ listeners: [{ socket: 'a.sock', allow: [] }] }, /listeners\[0\]\.allow/],
    [{ listeners: [{ socket: 'a.sock', permission: {} }] }, /permission is not a known key/],
    [{ listeners: [{ socket: 'a.sock', permissions: { contents: 'all' } }] }, /contents/],
    [
      { listeners: [{ socket: 'a.sock', permissions: { __proto__x: 'read' } }] },
      /__proto__x is not a GitHub App permission name/,
    ],
    [{ listeners: [{ allow: ['acme/*'] }] }, /listeners\[0\]\.socket is required/],
    [{ listeners: [{ socket: 'a.sock' }, { socket: './a.sock' }] }, /twice/],
    [{ revokeOnShutdown: 'yes' }, /revokeOnShutdown must be true or false/],
    [{ listeners: [{ socket: 'a.sock', permissions: {} }] }, /permissions must name at least one/],
  ];

  for (const [extra, message] of bad) {
    await t.rejects(loadConfig(configWith(t, extra), {}), { code: 'CONFIG', message });
  }
});

t.test('the --socket listener is unrestricted unless the config names it', async (t) => {
  const policy = { name: '/run/x/a.sock', allow: ['acme/*'] };

  const unnamed = plannedListeners('/run/x/d.sock', [{ socket: '/run/x/a.sock', policy }]);
  const named = plannedListeners('/run/x/a.sock', [{ socket: '/run/x/a.sock', policy }]);

  t.same(
    unnamed.map((l) => [l.socket, l.policy]),
    [
      ['/run/x/d.sock', { name: '/run/x/d.sock' }],
      ['/run/x/a.sock', policy],
    ],
  );
  t.same(
    named.map((l) => [l.socket, l.policy]),
    [['/run/x/a.sock', policy]],
  );
});

t.test('allow takes host/owner/repo and host/owner/*, the host in any case', async (t) => {
  const path = configWith(t, {
    listeners: [
      {
        socket: 'ci.sock',
        allow: ['GitHub.com/Acme/*', 'github.com/tools/cli', 'acme/x', '127.0.0.1:8080/a/b'],
        maxMintsPerMinute: 30,
      },
    ],
  });

  const config = await loadConfig(path, {});

  t.same(config.listeners[0]!.policy.allow, [
    'github.com/acme/*',
    'github.com/tools/cli',
    'acme/x',
    '127.0.0.1:8080/a/b',
  ]);
  t.equal(config.listeners[0]!.policy.maxMintsPerMinute, 30);
  t.same(
    config.warnings,
    [
      `config '${path}': listeners[0].allow[3] names host '127.0.0.1:8080', which no integration serves (github.com), so it allows nothing; check the host, or add an integration for it`,
    ],
    'a host no integration serves is warned of',
  );
});

t.test('a malformed host pattern or mint limit is a config error that says why', async (t) => {
  const bad: [unknown, RegExp][] = [
    [
      { allow: ['github.com:443/acme/*'] },
      /allow\[0\] must name its host as the integration's "host" does, without a trailing dot or a default port \(github\.com\), got "github\.com:443\/acme\/\*"/,
    ],
    [{ allow: ['github.com./acme/*'] }, /allow\[0\] must name its host .*\(github\.com\)/],
    [
      { allow: ['https://github.com/acme/*'] },
      /allow\[0\] must be "owner\/repository", "owner\/\*", "host\/owner\/repository" or "host\/owner\/\*", got/,
    ],
    [{ allow: ['github.com/acme'] }, /allow\[0\] must be "owner\/repository"/],
    [{ allow: ['a/b/c/d'] }, /allow\[0\]/],
    [{ allow: ['github.com/*/*'] }, /allow\[0\]/],
    [{ allow: [''] }, /allow\[0\] must be "owner\/repository", got ""/],
    [{ maxMintsPerMinute: 0 }, /maxMintsPerMinute must be a positive whole number/],
    [{ maxMintsPerMinute: 1.5 }, /maxMintsPerMinute must be a positive whole number/],
    [{ maxMintsPerMinute: '30' }, /maxMintsPerMinute must be a positive whole number/],
  ];

  for (const [extra, message] of bad) {
    await t.rejects(
      loadConfig(configWith(t, { listeners: [{ socket: 'a.sock', ...(extra as object) }] }), {}),
      { code: 'CONFIG', message },
    );
  }
});

t.test(
  'an unknown group is a config error when the config loads (start and reload alike)',
  async (t) => {
    await t.rejects(
      loadConfig(
        configWith(t, { listeners: [{ socket: 'a.sock', group: 'gcb-no-such-group' }] }),
        {},
      ),
      {
        code: 'CONFIG',
        message:
          /listeners\[0\]\.group names group 'gcb-no-such-group', which this machine does not know/,
      },
    );
  },
);

t.test('an allow pattern that can never match is refused with the spelling to use', async (t) => {
  const cases: [string, RegExp][] = [
    [
      'acme/widgets.git',
      /allow\[0\] never matches: .*write "acme\/widgets", got "acme\/widgets.git"/,
    ],
    ['github.com/acme/widgets.git', /write "github.com\/acme\/widgets"/],
    ['acme/..', /allow\[0\] never matches: '\.\.' is not a repository name/],
    ['acme/.', /'\.' is not a repository name/],
  ];

  for (const [pattern, message] of cases) {
    await t.rejects(
      loadConfig(configWith(t, { listeners: [{ socket: 'a.sock', allow: [pattern] }] }), {}),
      { code: 'CONFIG', message },
      pattern,
    );
  }
  const fine = await loadConfig(
    configWith(t, { listeners: [{ socket: 'a.sock', allow: ['acme/my.gitops', 'acme/.github'] }] }),
    {},
  );
  t.same(fine.listeners[0]!.policy.allow, ['acme/my.gitops', 'acme/.github'], 'dots elsewhere');
});

t.test('a group written as digits is a gid; one no group has is a warning', async (t) => {
  const named = await loadConfig(
    configWith(t, { listeners: [{ socket: 'a.sock', group: String(process.getegid!()) }] }),
    {},
  );
  const unknownGid = 4_000_000_000;
  const unknown =
    process.geteuid?.() === 0
      ? await loadConfig(
          configWith(t, { listeners: [{ socket: 'b.sock', group: unknownGid }] }),
          {},
        )
      : undefined;

  t.equal(named.listeners[0]!.access?.group.gid, process.getegid!(), '"N" is gid N');
  t.not(named.listeners[0]!.access?.group.name, '', 'named as the machine names it');
  t.same(named.warnings, []);
  if (unknown !== undefined) {
    t.equal(unknown.listeners[0]!.access?.group.gid, unknownGid);
    t.match(unknown.warnings, [
      new RegExp(
        `listeners\\[0\\]\\.group names gid ${unknownGid}, which no group on this machine has .*check that it is the sandbox's gid, or name the group`,
      ),
    ]);
  }
  await t.rejects(
    loadConfig(configWith(t, { listeners: [{ socket: 'c.sock', group: '4294967295' }] }), {}),
    { code: 'CONFIG', message: /names gid 4294967295, which is not a valid gid/ },
  );
});
