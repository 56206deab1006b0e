/**
 * The gap of a restart: the old daemon has exited and the next is not yet
 * listening. git whose helper may not start a daemon (a sandbox on a
 * listener socket, autostart off) waits for the next one within a window
 * after a deliberate stop, and fails at once after a crash, as before
 * (found in a new-user trial: restarting an idle daemon failed every
 * sandbox fetch in the gap). Real daemon processes and the fixture GitHub.
 */
import { existsSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { RESTART_WINDOW_MS, recentlyStopped, stoppedMarkPath } from '../../shared/stopped-mark.js';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';
import { runHelper } from '../fixtures/run-helper.js';

t.jobs = 2;

function get(w: BrokerWorld): ReturnType<typeof runHelper> {
  return runHelper(
    ['--socket', w.daemon.socketPath, 'get'],
    `protocol=http\nhost=${w.github.host}\npath=acme/gadgets.git\n\n`,
    w.env,
  );
}

async function stopped(w: BrokerWorld): Promise<void> {
  const env = { ...w.env, GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath };
  const stop = await runHelper(['stop', '--socket', w.daemon.socketPath], '', env);
  if (stop.code !== 0) throw new Error(stop.stderr);
  await w.daemon.exited;
}

t.test('git in the gap of a restart waits for the next daemon', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { installed: ['widgets', 'gadgets'] });
  t.teardown(() => w.stop());
  const env = { ...w.env, GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath };
  t.teardown(() => runHelper(['stop', '--socket', w.daemon.socketPath], '', env));

  await stopped(w);
  const mark = recentlyStopped(w.daemon.socketPath);
  t.equal(mark?.pid, w.daemon.pid, 'the stopped daemon left its mark');
  const waiting = get(w);
  // The operator's restart, typed by hand: seconds later.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const started = await runHelper(['daemon', '--detach', '--socket', w.daemon.socketPath], '', env);
  const got = await waiting;

  t.equal(started.code, 0, started.stderr);
  t.equal(got.code, 0, got.stderr);
  t.match(got.stdout, /^password=ghs_/m, 'the next daemon served the waiting request');
  t.notOk(existsSync(stoppedMarkPath(w.daemon.socketPath)), 'the next daemon removed the mark');
});

t.test('after a crash there is no mark, and git fails at once', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { installed: ['widgets', 'gadgets'] });
  t.teardown(() => w.stop());

  process.kill(w.daemon.pid, 'SIGKILL');
  await w.daemon.exited;
  const startedMs = Date.now();
  const got = await get(w);

  t.equal(got.code, 1);
  t.notOk(existsSync(stoppedMarkPath(w.daemon.socketPath)), 'no mark');
  // The socket the crash left behind.
  t.match(got.stderr, /is not running \(stale socket\)/);
  t.ok(Date.now() - startedMs < 5000, 'at once, not after a wait');
});

t.test('no wait once the window after the stop has passed', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { installed: ['widgets', 'gadgets'] });
  t.teardown(() => w.stop());

  await stopped(w);
  // The same mark, as if written a window and a second ago.
  const atMs = Date.now() - RESTART_WINDOW_MS - 1000;
  writeFileSync(stoppedMarkPath(w.daemon.socketPath), `stopped ${w.daemon.pid} ${atMs}\n`);
  const startedMs = Date.now();
  const got = await get(w);

  t.equal(got.code, 1);
  t.match(got.stderr, /no broker daemon is listening/);
  t.ok(Date.now() - startedMs < 5000, 'at once, not after a wait');
});

t.test('when no one starts the next daemon, git gives up at the end of the window', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { installed: ['widgets', 'gadgets'] });
  t.teardown(() => w.stop());

  await stopped(w);
  // Most of the window gone already: the test need not wait all of it.
  const atMs = Date.now() - RESTART_WINDOW_MS + 3000;
  writeFileSync(stoppedMarkPath(w.daemon.socketPath), `stopped ${w.daemon.pid} ${atMs}\n`);
  const startedMs = Date.now();
  const got = await get(w);
  const tookMs = Date.now() - startedMs;

  t.equal(got.code, 1);
  t.notMatch(got.stdout, /password=/, 'no credential');
  t.match(
    got.stderr,
    `the broker daemon (pid ${w.daemon.pid}) on '${w.daemon.socketPath}' stopped at`,
  );
  t.match(got.stderr, /no daemon has started there since; waited \d+ s/);
  t.ok(tookMs >= 2000 && tookMs < 10_000, `waited out the window's rest: ${tookMs} ms`);
});
