/**
 * Unknown config keys: every one in the file is named at once, by its
 * location, with a "did you mean" for a near miss.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../daemon/config.js';

function configFile(dir: string, config: unknown): string {
  const file = join(dir, 'broker.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const command = { provider: 'command', host: 'a.example', command: ['/bin/true'] };

t.test('every unknown key of a file is named at once, with what was meant', async (t) => {
  const dir = t.testdir();
  const file = configFile(dir, {
    autostrat: true,
    integrations: [
      { ...command, hots: 'x' },
      { ...command, host: 'b.example', name: 'b', timeoutSecond: 5, zzz: 1 },
    ],
    listeners: [{ socket: 'ci.sock', alow: ['acme/*'] }],
  });

  const error = await loadConfig(file, {}).then(
    () => undefined,
    (e: unknown) => e as Error,
  );

  t.match(error, { code: 'CONFIG' });
  t.equal(
    error?.message,
    `config '${file}': 5 keys are not known: autostrat (did you mean "autostart"?), integrations[0].hots (did you mean "host"?), integrations[1].timeoutSecond (did you mean "timeoutSeconds"?), integrations[1].zzz, listeners[0].alow (did you mean "allow"?); allowed in the top level: auditLog, autostart, integrations, listeners, revokeOnShutdown, shutdownTimeoutSeconds; allowed in integrations[0]: name, provider, host, cacheTtlSeconds, minTokenLifeSeconds, command, timeoutSeconds, username; allowed in integrations[1]: name, provider, host, cacheTtlSeconds, minTokenLifeSeconds, command, timeoutSeconds, username; allowed in listeners[0]: socket, allow, permissions, group, mode, maxMintsPerMinute`,
  );
});

t.test('unknown keys come before what they make missing', async (t) => {
  const dir = t.testdir();
  // A mistyped required key: "host is required" would hide the cause.
  const oneKey = configFile(dir, {
    integrations: [{ provider: 'command', hostt: 'a.example', command: ['/bin/true'] }],
  });
  await t.rejects(loadConfig(oneKey, {}), {
    message: `config '${oneKey}': integrations[0].hostt is not a known key; did you mean "host"? allowed here: name, provider, host, cacheTtlSeconds, minTokenLifeSeconds, command, timeoutSeconds, username`,
  });
  const noList = configFile(dir, { integration: [command] });
  await t.rejects(loadConfig(noList, {}), {
    message: /integration is not a known key; did you mean "integrations"\?/,
  });
  // A camelCase key mistyped: the suggestion ignores case on both sides.
  const camel = configFile(dir, { integrations: [{ ...command, TimeOutSeconds: 3 }] });
  await t.rejects(loadConfig(camel, {}), { message: /did you mean "timeoutSeconds"\?/ });
});

t.test('other config errors are reported as before', async (t) => {
  const dir = t.testdir();
  const file = configFile(dir, { integrations: [{ ...command, host: 'bad host' }] });

  await t.rejects(loadConfig(file, {}), {
    message: `config '${file}': integrations[0].host must be a host name with an optional :port, as in a clone URL, got "bad host"`,
  });
});
