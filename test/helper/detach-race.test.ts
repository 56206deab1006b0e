/**
 * `daemon --detach` run several times at once: each run reports the daemon
 * that actually serves, and those whose own daemon lost the race say it is
 * already running, exit 0.
 */
import { join } from 'node:path';
import t from 'tap';
import { sendRequest } from '../../shared/daemon-client.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { VERSION } from '../../shared/version.js';
import { cli, world } from '../fixtures/cli-world.js';

const LAUNCHERS = 4;

async function pingPid(socketPath: string): Promise<number | undefined> {
  const reply = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'ping' });
  return reply.ok ? reply.pid : undefined;
}

t.test('launchers started at once all name the one daemon that serves', async (t) => {
  const w = await world(t);
  await w.daemon.stop();
  const env = { XDG_STATE_HOME: join(w.dir, 'state') };
  t.teardown(() => cli(w, ['stop'], env));

  const runs = await Promise.all(
    Array.from({ length: LAUNCHERS }, () =>
      cli(w, ['daemon', '--detach', '--config', w.daemon.configPath], env),
    ),
  );
  const serving = await pingPid(w.daemon.socketPath);

  for (const run of runs) t.equal(run.code, 0, run.stderr);
  const started = runs.filter((run) => run.stdout.startsWith('daemon started'));
  const already = runs.filter((run) => run.stdout.includes('is already running'));
  t.equal(started.length, 1, runs.map((run) => run.stdout).join(''));
  t.match(started[0]?.stdout, `daemon started (pid ${serving}) on ${w.daemon.socketPath}`);
  t.equal(already.length, LAUNCHERS - 1, 'every other launcher says it is already running');
  for (const run of already) {
    t.equal(
      run.stdout,
      `a broker daemon (pid ${serving}, version ${VERSION}) is already running on '${w.daemon.socketPath}' with config '${w.daemon.configPath}'; nothing to start\n`,
    );
  }
});
