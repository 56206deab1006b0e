import t from 'tap';
import { formatStatus } from '../../helper/commands/format-status.js';
import type { DaemonStatus } from '../../shared/protocol.js';

function status(auditLogFailing: boolean): DaemonStatus {
  return {
    version: '1.2.3',
    pid: 42,
    startedAtMs: 0,
    socket: '/run/d.sock',
    config: '/etc/broker.json',
    auditLog: '/var/log/broker/audit.log',
    auditLogFailing,
    integrations: [],
    cache: [],
    counters: { hits: 0, misses: 0, mints: 0, denied: 0, errors: 2 },
  };
}

t.test('status says when the audit log is failing, and only then', async (t) => {
  // Found by a new user's trial: every get was refused with AUDIT while
  // status said only "running".
  t.match(
    formatStatus(status(true), 60_000),
    /audit log: +\/var\/log\/broker\/audit\.log \(FAILING: writes fail, so no credential is served/,
  );
  t.notMatch(formatStatus(status(false), 60_000), /FAILING/);
});

t.test('status says how the last reload went, once there was one', async (t) => {
  const at = (lastReload: DaemonStatus['lastReload']) =>
    formatStatus({ ...status(false), ...(lastReload ? { lastReload } : {}) }, 600_000);

  t.notMatch(at(undefined), /last reload/);
  t.match(
    at({ count: 1, requestedAtMs: 600_000, atMs: 600_000, ok: true }),
    /^last reload: +ok just now$/m,
  );
  t.match(
    at({
      count: 2,
      requestedAtMs: 480_000,
      atMs: 480_000,
      ok: false,
      error: 'unknown key "privateKeyPth"',
    }),
    /^last reload: +FAILED 2m0s ago \(still serving the config before\): unknown key "privateKeyPth"$/m,
  );
  t.match(
    at({
      count: 3,
      requestedAtMs: 540_000,
      atMs: 540_000,
      ok: true,
      needsRestart: ['listeners (…)'],
    }),
    /^last reload: +ok 1m0s ago; needs a restart for: listeners \(…\)$/m,
  );
  t.match(
    at({
      count: 4,
      requestedAtMs: 540_000,
      atMs: 540_000,
      ok: true,
      warnings: ['one likely mistake', 'another'],
    }),
    /^last reload: +ok 1m0s ago\n {2}warning: one likely mistake\n {2}warning: another\nintegrations:$/m,
  );
});

t.test('status names the proxy each API is reached through, or why none', async (t) => {
  const integration = (api: DaemonStatus['integrations'][number]['api']) => ({
    name: 'github',
    provider: 'github-app',
    host: 'github.com',
    ...(api === undefined ? {} : { api }),
  });
  const text = formatStatus(
    {
      ...status(false),
      integrations: [
        integration({
          origin: 'https://api.github.com',
          proxy: 'proxy.corp:3128',
          proxyVariable: 'https_proxy',
        }),
        integration({
          origin: 'https://ghe.corp',
          proxy: 'none',
          proxyVariable: 'HTTPS_PROXY',
          excludedBy: 'NO_PROXY',
        }),
        integration({ origin: 'http://127.0.0.1:4000', proxy: 'none', ignored: 'HTTP_PROXY' }),
        integration({ origin: 'https://api.github.com', proxy: 'none' }),
        integration(undefined),
      ],
    },
    60_000,
  );

  t.match(
    text,
    [
      'integrations:',
      '  github (github-app) for github.com; API https://api.github.com, proxy proxy.corp:3128 (from https_proxy)',
      '  github (github-app) for github.com; API https://ghe.corp, proxy none (NO_PROXY excludes it from HTTPS_PROXY)',
      '  github (github-app) for github.com; API http://127.0.0.1:4000, proxy none (HTTP_PROXY is not read for http, as in curl: set http_proxy)',
      '  github (github-app) for github.com; API https://api.github.com, proxy none',
      '  github (github-app) for github.com',
      'listeners:',
    ].join('\n'),
  );
});

t.test('a long cache is listed by the tokens served out first, at most 50 lines', async (t) => {
  // Found in review: 10,000 cached tokens printed 10,000 lines.
  const many = status(false);
  many.cache = Array.from({ length: 120 }, (_, i) => ({
    integration: 'github-app',
    repository: `acme/repo-${i}`,
    permissions: { contents: 'read' },
    // Out of order: the listing sorts them.
    staleAtMs: 3_600_000 + ((i * 37) % 120) * 1000,
    expiresAtMs: 7_200_000,
  }));
  const text = formatStatus(many, 60_000);
  const lines = text.split('\n').filter((line) => line.startsWith('  acme/'));
  t.equal(lines.length, 50);
  t.match(
    text,
    /cached: +120 tokens, the 50 that stop being served first \(status --json lists all\)/,
  );
  const soonest = many.cache.filter((entry) => entry.staleAtMs < 3_600_000 + 50 * 1000);
  t.equal(soonest.length, 50);
  for (const entry of soonest) t.ok(text.includes(`  ${entry.repository} [`), entry.repository);

  many.cache = many.cache.slice(0, 3);
  t.equal(
    formatStatus(many, 60_000)
      .split('\n')
      .filter((l) => l.startsWith('  acme/')).length,
    3,
  );
  t.notMatch(formatStatus(many, 60_000), /status --json lists all/);
});

t.test('a cached token names the listener socket it is for, printably', async (t) => {
  const entry = {
    integration: 'gh',
    repository: 'acme/widgets',
    permissions: { contents: 'read' as const },
    expiresAtMs: 3_600_000,
    staleAtMs: 3_000_000,
  };
  const text = formatStatus(
    {
      ...status(false),
      cache: [
        { ...entry, listener: '/run/d.sock' },
        { ...entry, listener: '/run/ci\u001b[2J.sock' },
      ],
    },
    0,
  );
  t.match(text, /^ {2}acme\/widgets \[contents:read\] via gh: served/m, "the daemon's own socket");
  t.match(text, /^ {2}acme\/widgets \[contents:read\] via gh on \/run\/ci.*\.sock: served/m);
  t.notOk(text.includes('\u001b'), 'no escape reaches the terminal');
});

t.test(
  'a listener’s mode is shown as the daemon reports it, and not at all by a daemon that does not',
  async (t) => {
    const text = formatStatus(
      {
        ...status(false),
        listeners: [
          { socket: '/run/a.sock', mode: '0600' },
          { socket: '/run/b.sock', group: 'ci', mode: '0660' },
          { socket: '/run/c.sock', mode: '0660' },
          { socket: '/run/old.sock' },
        ],
      },
      60_000,
    );

    t.match(text, /^ {2}\/run\/a\.sock: .*; mode 0600 \(private: this user only\)$/m);
    t.match(
      text,
      /^ {2}\/run\/b\.sock: .*; group ci may connect; mode 0660 \(this user and group ci\)$/m,
    );
    t.match(text, /^ {2}\/run\/c\.sock: .*; mode 0660 \(this user and its group\)$/m);
    t.match(text, /^ {2}\/run\/old\.sock: any repository; at most the integration's permissions$/m);
  },
);
