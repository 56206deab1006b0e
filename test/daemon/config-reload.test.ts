import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../daemon/config.js';
import { ConfigReloader, RECENT_RELOADS } from '../../daemon/config-reload.js';
import { ProviderRegistry } from '../../daemon/provider-registry.js';
import { capturedLog } from '../fixtures/captured-log.js';
import { StubProvider } from '../fixtures/stub-provider.js';

/** A reloader of the config at `configPath` as it is now, over stub providers. */
async function reloaderOf(configPath: string) {
  const { log, text } = capturedLog();
  const registry = new ProviderRegistry([]);
  const reloader = new ConfigReloader({
    configPath,
    env: {},
    log,
    registry,
    current: await loadConfig(configPath, {}),
    createIntegrations: (config) =>
      config.integrations.map((integration) => ({
        config: integration,
        provider: new StubProvider(),
      })),
  });
  return { reloader, registry, text };
}

t.test('restart-only settings are compared with what the daemon started with', async (t) => {
  // Found by a new user's trial: changing auditLog and changing it back
  // warned that the daemon was "still writing" to the file it never opened.
  const dir = t.testdir();
  const configPath = join(dir, 'broker.json');
  const write = (auditLog: string): void =>
    writeFileSync(
      configPath,
      JSON.stringify({
        auditLog,
        integrations: [{ provider: 'command', host: 'git.example.com', command: ['mint'] }],
      }),
    );
  write('first.log');
  const { reloader, registry, text } = await reloaderOf(configPath);
  const warnings = (): { auditLog: string; wanted: string }[] =>
    text()
      .split('\n')
      .filter((line) => line.includes('auditLog changes take effect on restart'))
      .map((line) => JSON.parse(line) as { auditLog: string; wanted: string });

  write('second.log');
  t.equal(await reloader.reload(), true);
  t.match(warnings(), [{ auditLog: join(dir, 'first.log'), wanted: join(dir, 'second.log') }]);

  write('first.log');
  t.equal(await reloader.reload(), true);
  t.equal(warnings().length, 1, 'back to the file in use: nothing to warn about');
  t.equal(registry.integrations.length, 1, 'the integrations were swapped in meanwhile');
});

t.test('each reload is recorded with when it was asked for, the last few kept', async (t) => {
  // Found in review: with only the last outcome, two reloads close
  // together took each other's.
  const dir = t.testdir();
  const configPath = join(dir, 'broker.json');
  const write = (host: string): void =>
    writeFileSync(
      configPath,
      JSON.stringify({ integrations: [{ provider: 'command', host, command: ['mint'] }] }),
    );
  write('git.example.com');
  const { reloader } = await reloaderOf(configPath);

  const first = reloader.reload();
  writeFileSync(configPath, '{');
  const second = reloader.reload();
  t.same(await Promise.all([first, second]), [false, false], 'both read the file as it is then');
  write('git.example.com');
  for (let i = 0; i < RECENT_RELOADS; i++) await reloader.reload();

  const recent = reloader.recentReloads;
  t.equal(recent.length, RECENT_RELOADS);
  t.same(
    recent.map(({ count }) => count),
    Array.from({ length: RECENT_RELOADS }, (_, i) => i + 3),
    'the oldest were let go',
  );
  t.ok(
    recent.every((r, i) => r.requestedAtMs <= r.atMs && (i === 0 || recent[i - 1]!.atMs <= r.atMs)),
    'in the order they ended, each asked for before it ended',
  );
  t.equal(reloader.lastReload, recent.at(-1));
});
