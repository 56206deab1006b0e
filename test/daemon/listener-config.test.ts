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
