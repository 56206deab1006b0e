/**
 * A restart where git's helper may not start the daemon (autostart off, as
 * for a sandbox on a listener socket): git waits for whoever restarts it,
 * within the old daemon's deadline and a grace, instead of failing at once
 * with "no broker daemon is listening" (found in a new-user trial). Real
 * daemon processes, real git, the GitHub-compatible fixture.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import t from 'tap';
import { stoppingMark } from '../../shared/socket-lock-state.js';
import { createBrokerWorld } from '../fixtures/broker-world.js';
import { newDaemonSocketPath } from '../fixtures/daemon-process.js';
import { drainFor, markedStopping } from '../fixtures/drain.js';
import { runGit } from '../fixtures/git.js';
import { runHelper } from '../fixtures/run-helper.js';
import { assertNothingSecret } from '../fixtures/shutdown-checks.js';

t.jobs = 2;

t.test('git during a restart by someone else waits for the new daemon', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { installed: ['widgets', 'gadgets'] });
  t.teardown(() => w.stop());
  const env = { ...w.env, GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath };
  t.teardown(() => runHelper(['stop', '--socket', w.daemon.socketPath], '', env));

  const { inFlight } = await drainFor(w, 2500);
  const stopping = await markedStopping(w);
  const clone = runGit(['clone', w.cloneUrl('gadgets'), join(w.dir, 'gadgets')], { env: w.env });
  // The operator's restart: a new daemon once the old one has exited.
  await w.daemon.exited;
  const started = await runHelper(['daemon', '--detach', '--socket', w.daemon.socketPath], '', env);
  const cloned = await clone;

  t.equal(started.code, 0, started.stderr);
  t.equal(cloned.code, 0, cloned.stderr);
  t.notMatch(cloned.stderr, /no broker daemon is listening/);
  t.match((await inFlight).stdout, /^password=ghs_/m, 'the old daemon answered its request');
  t.equal(stopping.pid, w.daemon.pid);
  await assertNothingSecret(t, w, { clone: cloned.stderr });
});

t.test('when no one restarts it, git fails in bounded time naming the daemon', async (t) => {
  const w = await createBrokerWorld(t.testdir(), {
    installed: ['widgets', 'gadgets'],
    // Long enough that git's helper starts before it ends, even on a busy machine.
    config: { shutdownTimeoutSeconds: 4 },
  });
  t.teardown(() => w.stop());

  await drainFor(w, 6000);
  const stopping = await markedStopping(w);
  const startedMs = Date.now();
  const get = await runHelper(
    ['--socket', w.daemon.socketPath, 'get'],
    `protocol=http\nhost=${w.github.host}\npath=acme/gadgets.git\n\n`,
    w.env,
  );
  const tookMs = Date.now() - startedMs;

  t.equal(get.code, 1);
  t.notMatch(get.stdout, /password=/, 'no credential');
  t.match(
    get.stderr,
    `the broker daemon (pid ${stopping.pid}) on '${w.daemon.socketPath}' was shutting down`,
  );
  t.match(get.stderr, /no daemon answered there since; waited \d+ s/);
  t.match(get.stderr, /start it, then run git again/);
  // Its deadline (4 s) and the grace (5 s), not the 30 s cap.
  t.ok(tookMs < 25_000, `gave up in ${tookMs} ms`);
});

t.test(
  'with a daemon of an older release, whose socket is gone at once, git waits by its lock',
  async (t) => {
    const w = await createBrokerWorld(t.testdir(), { installed: ['widgets', 'gadgets'] });
    t.teardown(() => w.stop());
    const env = { ...w.env, GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath };
    // The older daemon: a live node process, a lock marked stopping, no socket.
    const socket = await newDaemonSocketPath();
    mkdirSync(`${socket}.lock`, { recursive: true, mode: 0o700 });
    t.teardown(() => rm(dirname(dirname(socket)), { recursive: true, force: true }));
    t.teardown(() => runHelper(['stop', '--socket', socket], '', env));
    const older = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    t.teardown(() => older.kill());
    const entry = join(`${socket}.lock`, `owner-${older.pid}-0123456789abcdef`);
    writeFileSync(entry, stoppingMark(Date.now() + 20_000));

    const get = runHelper(
      ['--socket', socket, 'get'],
      `protocol=http\nhost=${w.github.host}\npath=acme/gadgets.git\n\n`,
      w.env,
    );
    // Long enough for the helper to start and find the lock on a busy
    // machine (1.5 s was not, in a whole suite's run).
    await new Promise((resolve) => setTimeout(resolve, 6000));
    // It lets go, and the operator starts this release's daemon there.
    older.kill();
    rmSync(`${socket}.lock`, { recursive: true, force: true });
    const started = await runHelper(['daemon', '--detach', '--socket', socket], '', env);
    const got = await get;

    t.equal(started.code, 0, started.stderr);
    t.equal(got.code, 0, got.stderr);
    t.match(got.stdout, /^password=ghs_/m, 'the new daemon served the waiting request');
  },
);
