/**
 * A restart as users meet it: git, status, configure, stop and daemon
 * --detach while a real daemon process is shutting down (its socket gone,
 * its lock still held while it answers a request in flight), with
 * autostart on, real git and the GitHub-compatible fixture.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { defaultDaemonLogPath } from '../../shared/daemon-log-path.js';
import { processExists } from '../../helper/process-exists.js';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';
import { runGit } from '../fixtures/git.js';
import { runHelper } from '../fixtures/run-helper.js';
import { drainFor, markedStopping } from '../fixtures/drain.js';
import { assertNothingSecret } from '../fixtures/shutdown-checks.js';

t.jobs = 2;

interface DrainWorld {
  w: BrokerWorld;
  /** The environment in which git's helper (and the CLI) autostarts this world's daemon. */
  env: NodeJS.ProcessEnv;
  daemonLog: string;
}

async function drainWorld(t: Test, config: Record<string, unknown> = {}): Promise<DrainWorld> {
  const w = await createBrokerWorld(t.testdir(), {
    installed: ['widgets', 'gadgets'],
    config,
  });
  t.teardown(() => w.stop());
  const written = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as object;
  await writeFile(w.daemon.configPath, JSON.stringify({ ...written, autostart: true }));
  const env = {
    ...w.env,
    GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath,
    XDG_STATE_HOME: join(w.dir, 'state'),
  };
  // The daemon a test's helper starts; nothing to stop when none did.
  t.teardown(() => runHelper(['stop', '--socket', w.daemon.socketPath], '', env));
  return { w, env, daemonLog: defaultDaemonLogPath(env, w.daemon.socketPath) };
}

t.test(
  'a git clone while the daemon drains waits for it, then a fresh daemon serves',
  async (t) => {
    const { w, env, daemonLog } = await drainWorld(t);
    const { inFlight } = await drainFor(w, 3000);
    const stopping = await markedStopping(w);

    const clone = await runGit(['clone', w.cloneUrl('gadgets'), join(w.dir, 'gadgets')], { env });
    const code = await w.daemon.exited;
    const answered = await inFlight;
    const status = await runHelper(['status', '--json', '--socket', w.daemon.socketPath], '', env);

    t.equal(stopping.pid, w.daemon.pid, 'the lock named the draining daemon');
    t.equal(clone.code, 0, clone.stderr);
    t.notMatch(clone.stderr, /configure --socket|stale socket/, 'no advice to reconfigure');
    t.match(answered.stdout, /^password=ghs_/m, 'the old daemon answered its request in flight');
    t.equal(code, 0, 'and exited cleanly');
    const now = JSON.parse(status.stdout) as { running: boolean; pid: number };
    t.match(now, { running: true }, 'a daemon serves afterwards');
    t.not(now.pid, w.daemon.pid, 'a fresh one');
    t.equal(
      (await readFile(daemonLog, 'utf8')).match(/"daemon listening"/g)?.length,
      1,
      'started once by autostart',
    );
    await assertNothingSecret(t, w, { clone: clone.stderr });
  },
);

t.test('stop and daemon --detach while it drains wait for it, and say so', async (t) => {
  const { w, env } = await drainWorld(t);
  // Long enough for two CLI processes to start on a busy machine and find it draining.
  await drainFor(w, 8000);
  const stopping = await markedStopping(w);

  const [stop, detach] = await Promise.all([
    runHelper(['stop', '--socket', w.daemon.socketPath], '', env),
    runHelper(['daemon', '--detach', '--socket', w.daemon.socketPath], '', env),
  ]);
  const exited = !processExists(stopping.pid);
  const get = await runHelper(
    ['--socket', w.daemon.socketPath, 'get'],
    `protocol=http\nhost=${w.github.host}\npath=acme/gadgets.git\n\n`,
    env,
  );

  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, `(pid ${stopping.pid}) on '${w.daemon.socketPath}' is stopping`);
  t.match(stop.stdout, /; waiting for it to exit\n/);
  t.match(stop.stdout, /stopped\n$/);
  t.ok(exited, 'stop returned once the old daemon had exited');
  t.equal(detach.code, 0, detach.stderr);
  t.match(detach.stdout, `a broker daemon (pid ${stopping.pid}) is stopping on`);
  t.match(detach.stdout, /waiting for it to let go[^\n]*\ndaemon started \(pid \d+\)/);
  t.match(get.stdout, /^password=ghs_/m, 'the new daemon serves');
});

t.test(
  'a daemon stuck past its shutdown time: git fails fast naming it, status and configure say stopping',
  async (t) => {
    const { w, env } = await drainWorld(t, { shutdownTimeoutSeconds: 1 });
    await drainFor(w, 20_000);
    const stopping = await markedStopping(w);
    // Frozen while it holds its lock: what a hung shutdown looks like.
    w.daemon.signal('SIGSTOP');
    t.teardown(() => w.daemon.signal('SIGCONT'));
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, stopping.untilMs + 2200 - Date.now())),
    );

    const startedMs = Date.now();
    const get = await runHelper(
      ['--socket', w.daemon.socketPath, 'get'],
      `protocol=http\nhost=${w.github.host}\npath=acme/gadgets.git\n\n`,
      env,
    );
    const tookMs = Date.now() - startedMs;
    const statusJson = await runHelper(
      ['status', '--json', '--socket', w.daemon.socketPath],
      '',
      env,
    );
    const statusText = await runHelper(['status', '--socket', w.daemon.socketPath], '', env);
    const configure = await runHelper(
      ['configure', '--host', w.github.gitBaseUrl, '--socket', w.daemon.socketPath],
      '',
      env,
    );

    t.equal(get.code, 1, get.stderr);
    t.equal(get.stdout, '', 'no quit=1: the next git command may find a daemon');
    t.match(
      get.stderr,
      `the broker daemon (pid ${stopping.pid}) on '${w.daemon.socketPath}' is shutting down`,
    );
    t.match(get.stderr, `kill -TERM ${stopping.pid}`, 'and says what to do');
    t.match(
      get.stderr,
      /see its log \(where its stderr went, or the file given to --log-file\)/,
      'no log file that does not exist',
    );
    t.ok(tookMs < 5000, `at once, not after a wait: ${tookMs} ms`);
    t.equal(statusJson.code, 1);
    t.match(JSON.parse(statusJson.stdout), { running: false, stopping: true, pid: stopping.pid });
    t.match(statusText.stderr, `(pid ${stopping.pid}) on '${w.daemon.socketPath}' is stopping`);
    t.notMatch(statusText.stderr, /not running|stale socket|no broker daemon/);
    t.match(configure.stderr, `(pid ${stopping.pid}) is stopping`);
    t.match(configure.stderr, /autostart starts a new one on first use once it has/);
    t.ok(processExists(stopping.pid), 'no one else ended it');
  },
);
