import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../daemon/config.js';
import { ConfigReloader } from '../../daemon/config-reload.js';
import { ProviderRegistry } from '../../daemon/provider-registry.js';
import { capturedLog } from '../fixtures/captured-log.js';
import { StubProvider } from '../fixtures/stub-provider.js';

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
  const current = await loadConfig(configPath, {});
  const { log, text } = capturedLog();
  const registry = new ProviderRegistry([]);
  const reloader = new ConfigReloader({
    configPath,
    env: {},
    log,
    registry,
    current,
    createIntegrations: (config) =>
      config.integrations.map((integration) => ({
        config: integration,
        provider: new StubProvider(),
      })),
  });
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
