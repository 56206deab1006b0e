/**
 * Autostart, as git meets it: the built helper's get starting the daemon
 * from the config, against the GitHub-compatible server.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import t from 'tap';
import { defaultDaemonLogPath } from '../../shared/daemon-log-path.js';
import { cli, world } from '../fixtures/cli-world.js';
import { runHelper } from '../fixtures/run-helper.js';

t.test('with autostart on, many git processes at once start exactly one daemon', async (t) => {
  const w = await world(t);
  await w.daemon.stop();
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as Record<string, unknown>;
  await writeFile(w.daemon.configPath, JSON.stringify({ ...config, autostart: true }));
  const env = {
    GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath,
    XDG_STATE_HOME: join(w.dir, 'state'),
  };
  const input = `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n\n`;
  t.teardown(() => cli(w, ['stop'], env));

  const results = await Promise.all(
    Array.from({ length: 8 }, () =>
      runHelper(['--socket', w.daemon.socketPath, 'get'], input, { ...w.env, ...env }),
    ),
  );
  const status = await cli(w, ['status', '--json'], env);
  const log = await readFile(defaultDaemonLogPath(env, w.daemon.socketPath), 'utf8');

  t.same(
    results.map((r) => r.code),
    Array(8).fill(0),
    results.map((r) => r.stderr).join(''),
  );
  t.ok(
    results.every((r) => r.stdout.includes(`password=${w.github.issuedTokens()[0]}`)),
    'all got the token',
  );
  t.equal(w.github.mintCount, 1, 'one mint');
  t.equal(status.code, 0, 'a daemon answers');
  t.equal(log.match(/"daemon listening"/g)?.length, 1, 'exactly one daemon started listening');
});

t.test(
  'with autostart on and a config the daemon cannot start with, get tells git to stop',
  async (t) => {
    const w = await world(t);
    await w.daemon.stop();
    const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as {
      integrations: Record<string, unknown>[];
    };
    const missingKey = join(w.dir, 'no-such-key.pem');
    config.integrations[0]!['privateKeyPath'] = missingKey;
    await writeFile(w.daemon.configPath, JSON.stringify({ ...config, autostart: true }));
    const env = {
      GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath,
      XDG_STATE_HOME: join(w.dir, 'state'),
    };
    const input = `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n\n`;

    const get = await runHelper(['--socket', w.daemon.socketPath, 'get'], input, {
      ...w.env,
      ...env,
    });

    t.equal(get.code, 1, get.stderr);
    t.equal(get.stdout, 'quit=1\n', 'git does not fall through to a prompt');
    t.match(get.stderr, /the broker daemon did not start on .*no-such-key\.pem/);
  },
);

t.test(
  'with autostart on, a lock an older release is still writing is waited for, not taken for a config problem',
  async (t) => {
    // An older release created its lock file first and wrote its pid after:
    // a daemon that finds one without a pid leaves it alone, and exits.
    const w = await world(t);
    await w.daemon.stop();
    const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as Record<
      string,
      unknown
    >;
    await writeFile(w.daemon.configPath, JSON.stringify({ ...config, autostart: true }));
    await mkdir(dirname(w.daemon.socketPath), { recursive: true, mode: 0o700 });
    await writeFile(`${w.daemon.socketPath}.lock`, '');
    const env = {
      GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath,
      XDG_STATE_HOME: join(w.dir, 'state'),
    };
    const input = `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n\n`;

    const get = await runHelper(['--socket', w.daemon.socketPath, 'get'], input, {
      ...w.env,
      ...env,
    });

    t.equal(get.code, 1, get.stderr);
    t.equal(get.stdout, '', 'no quit=1: the daemon starting may yet answer the next git command');
    t.match(get.stderr, /another broker daemon is starting on '.*daemon\.sock'/);
    t.equal(await readFile(`${w.daemon.socketPath}.lock`, 'utf8'), '', 'the lock is left alone');
  },
);
