/**
 * status, stop and reload while a daemon winds down: while it drains
 * (its socket answers "stopping") and after it let go of its socket and
 * lock to revoke its tokens at GitHub. They said "start it", "not running"
 * and "no daemon was running" then (found in review). Real daemon
 * processes, the GitHub-compatible fixture.
 */
import { existsSync } from 'node:fs';
import t, { type Test } from 'tap';
import { processExists } from '../../helper/process-exists.js';
import { stoppingDaemon } from '../../shared/socket-lock-state.js';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';
import { drainFor, markedStopping } from '../fixtures/drain.js';
import { runHelper } from '../fixtures/run-helper.js';
import { get, hangRevocations } from '../fixtures/shutdown-checks.js';

t.jobs = 2;

async function world(t: Test, config: Record<string, unknown>) {
  const w = await createBrokerWorld(t.testdir(), { installed: ['widgets', 'gadgets'], config });
  t.teardown(() => w.stop());
  const env = { ...w.env, GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath };
  const cli = (...args: string[]) => runHelper([...args, '--socket', w.daemon.socketPath], '', env);
  return { w, cli };
}

/** Waits until the daemon has let go of its socket and lock, still running. */
async function letGo(w: BrokerWorld): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (existsSync(w.daemon.socketPath) || stoppingDaemon(w.daemon.socketPath) !== undefined) {
    if (Date.now() > deadline) throw new Error('the daemon did not let go of its socket');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('reload and status while the daemon drains say it is stopping and until when', async (t) => {
  // Long enough for three CLI processes to start on a busy machine and find it draining.
  const { w, cli } = await world(t, { shutdownTimeoutSeconds: 20 });
  await drainFor(w, 12_000);
  const stopping = await markedStopping(w);

  const [reload, status, statusJson] = await Promise.all([
    cli('reload'),
    cli('status'),
    cli('status', '--json'),
  ]);

  t.equal(reload.code, 1);
  t.match(
    reload.stderr,
    `cannot reload: the broker daemon (pid ${stopping.pid}) on '${w.daemon.socketPath}' is stopping`,
  );
  t.match(
    reload.stderr,
    /at the latest, so no daemon there has a config to reload; start a new one once it has let go/,
  );
  t.notMatch(reload.stderr, /no broker daemon is listening/);
  t.match(status.stderr, `(pid ${stopping.pid}) on '${w.daemon.socketPath}' is stopping`);
  t.notMatch(status.stderr, /not running|no broker daemon/);
  t.match(JSON.parse(statusJson.stdout), {
    running: false,
    stopping: true,
    pid: stopping.pid,
    untilMs: stopping.untilMs,
  });
});

t.test(
  'status, reload and stop while the old daemon revokes after letting go say so, and stop waits for it',
  async (t) => {
    // Its revocations hang for the rest of its 15 s: time for four CLI processes.
    const { w, cli } = await world(t, { revokeOnShutdown: true, shutdownTimeoutSeconds: 15 });
    t.match((await get(w, 'widgets')).stdout, /^password=ghs_/m);
    hangRevocations(w);

    w.daemon.signal('SIGTERM');
    await letGo(w);
    const [status, statusJson, reload, stop] = await Promise.all([
      cli('status'),
      cli('status', '--json'),
      cli('reload'),
      cli('stop'),
    ]);
    const exited = !processExists(w.daemon.pid);

    const revoking = `the broker daemon (pid ${w.daemon.pid}) that served '${w.daemon.socketPath}' has stopped serving and is revoking 1 token at GitHub`;
    t.equal(status.code, 1);
    t.match(status.stderr, revoking);
    t.match(status.stderr, /a new one may start there now/);
    t.notMatch(status.stderr, /not running/);
    t.match(JSON.parse(statusJson.stdout), { running: false, revoking: 1, pid: w.daemon.pid });
    t.match(reload.stderr, `cannot reload: ${revoking}`);
    t.equal(stop.code, 0, stop.stderr);
    t.match(stop.stdout, `${revoking}`);
    t.match(stop.stdout, /waiting for it to exit\n.*stopped\n$/);
    t.notMatch(stop.stdout, /no broker daemon was running/);
    t.ok(exited, 'stop returned once the old daemon had exited');
    t.notOk(existsSync(`${w.daemon.socketPath}.revoking-${w.daemon.pid}`), 'its note is gone');
  },
);
