/**
 * `stop` waits on numbers a daemon's replies give: its shutdown timeout
 * (ping) and the deadline of a shutdown under way (a stopping reply). A
 * reply of 1e300 ms or a deadline in the year 275760 made `stop` wait for
 * good, and a daemon past its deadline got "still running after -1 s"
 * (found in review). A fake socket answers as such a daemon would, naming
 * the pid of a real daemon process of this installation, which `stop`
 * checks before it waits on it.
 */
import t from 'tap';
import { cli, fakeDaemon, world } from '../fixtures/cli-world.js';
import { runHelper } from '../fixtures/run-helper.js';

/** Every case must end well within this: a long wait is the failure. */
const QUICK_MS = 15_000;

function stoppingReply(pid: number, untilMs: number): object {
  return {
    v: 1,
    ok: false,
    error: { code: 'DAEMON_UNREACHABLE', message: 'stopping', stopping: { pid, untilMs } },
  };
}

async function stopOn(socket: string, env: NodeJS.ProcessEnv) {
  const started = Date.now();
  const run = await runHelper(['stop', '--socket', socket], '', env);
  return { ...run, ms: Date.now() - started };
}

t.test('a ping reply with a shutdown timeout of 1e300 ms is refused, not waited on', async (t) => {
  const w = await world(t);
  const socket = await fakeDaemon(t, (op: unknown) =>
    op === 'ping'
      ? { v: 1, ok: true, pid: w.daemon.pid, shutdownTimeoutMs: 1e300 }
      : { v: 1, ok: true },
  );

  const stop = await stopOn(socket, w.env);

  t.ok(stop.ms < QUICK_MS, `ended in ${stop.ms} ms`);
  t.equal(stop.code, 1, stop.stderr);
  t.match(stop.stderr, /'shutdownTimeoutMs' is over the 3600000 ms a config may set/);
});

t.test('a stopping reply with a deadline past any config is not waited on', async (t) => {
  const w = await world(t);
  // Two hours: a deadline the reply check reads, past the 3600 s any config allows.
  const socket = await fakeDaemon(t, stoppingReply(w.daemon.pid, Date.now() + 2 * 3600e3));

  const stop = await stopOn(socket, w.env);

  t.ok(stop.ms < QUICK_MS, `ended in ${stop.ms} ms`);
  t.equal(stop.code, 1, stop.stderr);
  t.match(
    stop.stderr,
    `(pid ${w.daemon.pid}) was asked to stop and is still running: it says its shutdown ends by`,
  );
  t.match(stop.stderr, /later than the 3600 s any config allows, so stop did not wait for it/);
  t.match(stop.stderr, `kill -TERM ${w.daemon.pid}`);
});

t.test(
  'a deadline in the year 275760 is no stopping reply at all, and nothing waits',
  async (t) => {
    const w = await world(t);
    const socket = await fakeDaemon(t, stoppingReply(w.daemon.pid, 8.64e15));

    const stop = await stopOn(socket, w.env);

    // Read as the plain error it also is (shared/stopping-reply.ts refuses the deadline).
    t.ok(stop.ms < QUICK_MS, `ended in ${stop.ms} ms`);
    t.equal(stop.code, 1, stop.stderr);
    t.equal(stop.stderr, 'git-credential-broker: stopping\n');
  },
);

t.test('a daemon past its shutdown deadline is said to be so, with no negative time', async (t) => {
  const w = await world(t);
  const socket = await fakeDaemon(t, stoppingReply(w.daemon.pid, Date.now() - 60_000));

  const stop = await stopOn(socket, w.env);

  t.ok(stop.ms < QUICK_MS, `ended in ${stop.ms} ms`);
  t.equal(stop.code, 1, stop.stderr);
  t.match(stop.stderr, 'is still running past the end of its shutdown time (due by');
  t.match(stop.stderr, `it may hang: see its log`);
  t.match(stop.stderr, `end it with kill -TERM ${w.daemon.pid}`);
  t.notMatch(stop.stderr, /-\d+ s\b/);
});

t.test(
  'a suspended daemon past its deadline: stop says to resume it with kill -CONT',
  async (t) => {
    const w = await world(t);
    const pid = w.daemon.pid;
    const socket = await fakeDaemon(t, stoppingReply(pid, Date.now() - 60_000));
    process.kill(pid, 'SIGSTOP');
    t.teardown(() => process.kill(pid, 'SIGCONT'));

    const stop = await stopOn(socket, w.env);
    process.kill(pid, 'SIGCONT');

    t.equal(stop.code, 1, stop.stderr);
    t.match(stop.stderr, `it is suspended (SIGSTOP): resume it with kill -CONT ${pid}`);
    t.equal((await cli(w, ['status'])).code, 0, 'the real daemon was left running');
  },
);
