/**
 * A permission name GitHub does not document, through the real daemon, the
 * GitHub-compatible server and the built helper: warned about wherever the
 * config is loaded, and named with its config key when GitHub refuses the
 * mint for it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { cli, world } from '../fixtures/cli-world.js';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';

/** What the daemon logged at warn level, as written (its log is JSON). */
function warnings(w: BrokerWorld): string[] {
  return w.daemon
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        const record = JSON.parse(line) as { level?: number; msg?: string };
        return record.level === 40 && record.msg !== undefined ? [record.msg] : [];
      } catch {
        return [];
      }
    });
}

const TYPO =
  /integrations\[0\]\.permissions\.content is not a permission GitHub documents for App tokens; did you mean "contents"\?/;

t.test(
  'a mistyped name is warned about at start, and the refused mint names the key to check',
  async (t) => {
    // Found in a trial: "content" failed only at mint time, with a 422 naming nothing.
    const w = await createBrokerWorld(t.testdir(), {
      bareRepos: false,
      permissions: { content: 'read' },
    });
    t.teardown(() => w.stop());

    const token = await cli(w, ['token', w.cloneUrl('widgets')]);

    t.match(warnings(w), [TYPO], "in the daemon's log from the start");
    t.equal(token.code, 1);
    t.match(
      token.stderr,
      /HTTP 422 .*; 'content' \(did you mean 'contents'\?\) is not a permission GitHub documents for App tokens; check "permissions" of integration "local-github" \(host 127\.0\.0\.1:\d+\) in the broker config$/m,
    );
  },
);

t.test('reload shows the warnings of the config it loaded, and status keeps them', async (t) => {
  const w = await world(t);
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as {
    integrations: Record<string, unknown>[];
  };
  config.integrations[0]!['permissions'] = { content: 'read' };
  await writeFile(w.daemon.configPath, JSON.stringify(config));

  const reload = await cli(w, ['reload']);
  const status = await cli(w, ['status']);
  const json = JSON.parse((await cli(w, ['status', '--json'])).stdout) as {
    lastReload: { ok: boolean; warnings: string[] };
  };

  t.equal(reload.code, 0, 'the config is in use: a warning is no refusal');
  t.match(reload.stdout, new RegExp(`^warning: config '.*': ${TYPO.source}`, 'm'));
  t.match(reload.stdout, /reloaded '.*' and the keys it names$/m);
  t.match(
    status.stdout,
    new RegExp(`^last reload: +ok .*\\n {2}warning: config '.*': ${TYPO.source}`, 'm'),
  );
  t.equal(json.lastReload.ok, true);
  t.match(json.lastReload.warnings, [TYPO]);
  t.match(warnings(w), [TYPO], "and the daemon's log");
});

t.test('daemon --detach shows the warning to whoever started it', async (t) => {
  const w = await world(t);
  await w.daemon.stop();
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as {
    integrations: Record<string, unknown>[];
  };
  config.integrations[0]!['permissions'] = { content: 'read' };
  await writeFile(w.daemon.configPath, JSON.stringify(config));
  const env = { XDG_STATE_HOME: join(w.dir, 'state') };
  t.teardown(() => cli(w, ['stop'], env));

  const started = await cli(w, ['daemon', '--detach', '--config', w.daemon.configPath], env);

  t.equal(started.code, 0, started.stderr);
  t.match(started.stdout, new RegExp(`^warning: config '.*': ${TYPO.source}`, 'm'));
});
