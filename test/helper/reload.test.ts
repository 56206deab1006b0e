/**
 * `reload` sends the daemon SIGHUP, and only to a process here that is a
 * broker daemon of this user.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import t from 'tap';
import { checkBrokerDaemon } from '../../helper/commands/socket-holder.js';
import { createBrokerWorld } from '../fixtures/broker-world.js';
import { runHelper } from '../fixtures/run-helper.js';

t.test('reload makes the running daemon read its changed config', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as {
    integrations: Record<string, unknown>[];
  };
  config.integrations[0]!['name'] = 'renamed-github';
  await writeFile(w.daemon.configPath, JSON.stringify(config));
  const status = async () =>
    JSON.parse(
      (await runHelper(['status', '--json', '--socket', w.daemon.socketPath], '', w.env)).stdout,
    ) as { pid: number; integrations: { name: string }[] };

  const reload = await runHelper(['reload', '--socket', w.daemon.socketPath], '', w.env);
  let names: string[] = [];
  for (let i = 0; i < 100 && names[0] !== 'renamed-github'; i++) {
    names = (await status()).integrations.map((integration) => integration.name);
    if (names[0] !== 'renamed-github') await new Promise((r) => setTimeout(r, 50));
  }

  t.equal(reload.code, 0, reload.stderr);
  t.match(
    reload.stdout,
    `sent SIGHUP to the broker daemon (pid ${w.daemon.pid}) on '${w.daemon.socketPath}'`,
  );
  t.same(names, ['renamed-github'], 'the daemon serves the new config');
  t.equal((await status()).pid, w.daemon.pid, 'the same daemon, not a restart');
});

t.test('reload refuses a pid that is not a broker daemon here', async (t) => {
  // This test's own process: this user's, but not a broker daemon.
  t.throws(() => checkBrokerDaemon(process.pid), {
    code: 'CONFIG',
    message: /that process here is not a broker daemon/,
  });
  // No such process: a daemon in another pid namespace reports such pids.
  t.throws(() => checkBrokerDaemon(2 ** 22 + 7), { message: /no such process runs here/ });

  // Found in review: a process whose arguments merely held "main.js" and
  // "daemon" passed, and a fake daemon could have it signalled.
  const lookalike = spawn(
    process.execPath,
    ['-e', 'setTimeout(() => {}, 30_000)', '/srv/other-app/main.js', 'daemon'],
    { stdio: 'ignore' },
  );
  t.teardown(() => void lookalike.kill());
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.throws(() => checkBrokerDaemon(lookalike.pid), { message: /not a broker daemon/ });
  t.equal(lookalike.exitCode, null, 'and it was not signalled');

  for (const pid of ['1234', [1234], 0, -1, 1, 1.5, 2 ** 60, null]) {
    t.throws(() => checkBrokerDaemon(pid), { message: /not a process id/ }, JSON.stringify(pid));
  }
});
