/**
 * A restart seen from a sandbox: a client of another uid on a listener
 * socket open to its group cannot read the socket's lock (its directory is
 * the daemon user's, 0700), so the lock's stopping mark told it nothing and
 * every sandbox git command failed at once during a restart (found in
 * review). The draining daemon now keeps its sockets and answers each new
 * request with when it is gone. Real daemon processes, real git as
 * `nobody` through setpriv (as root only), the GitHub-compatible fixture.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { stoppingDaemon } from '../../shared/socket-lock-state.js';
import { OWNER, type BrokerWorld } from '../fixtures/broker-world.js';
import { drainFor, markedStopping } from '../fixtures/drain.js';
import {
  asNobody,
  cleanEnv,
  credentialFillAsNobody,
  NOBODY,
  NOBODY_ARGS,
  skipUnlessRoot,
} from '../fixtures/as-nobody.js';
import { sandboxWorld } from '../fixtures/sandbox-world.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { runHelper } from '../fixtures/run-helper.js';
import { assertNothingSecret } from '../fixtures/shutdown-checks.js';

t.jobs = 2;

const skip = skipUnlessRoot;

/** The sandbox's world, with the restarted daemon, if any, stopped on the operator's socket. */
async function restartWorld(t: Test): Promise<{ w: BrokerWorld; listener: string }> {
  const world = await sandboxWorld(t, { installed: ['widgets', 'gadgets'] });
  const { w } = world;
  const env = { ...w.env, GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath };
  t.teardown(() => runHelper(['stop', '--socket', w.daemon.socketPath], '', env));
  return world;
}

/**
 * The operator's restart while `client` runs: the daemon drains (a request
 * in flight keeps it stopping), `client` starts, and once the old daemon
 * has exited a new one is started on the operator's socket.
 */
async function restartWhile<T>(w: BrokerWorld, client: () => Promise<T>) {
  const env = { ...w.env, GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath };
  await drainFor(w, 3000);
  const stopping = await markedStopping(w);
  const running = client();
  await w.daemon.exited;
  const started = await runHelper(['daemon', '--detach', '--socket', w.daemon.socketPath], '', env);
  return { stopping, started, result: await running };
}

/** A ping as nobody on `socket`: the reply line, or the connection's error. */
function pingAsNobody(socket: string): Promise<string> {
  const script = `const c=require('node:net').connect(process.argv[1]);let s='';c.on('connect',()=>c.write('{"v":1,"op":"ping"}\\n'));c.on('data',d=>s+=d);c.on('end',()=>process.stdout.write(s));c.on('error',e=>process.stdout.write('error '+e.code))`;
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      [...NOBODY_ARGS, ...cleanEnv(), process.execPath, '-e', script, socket],
      { timeout: 10_000 },
      (_error, stdout) => resolve(stdout),
    );
  });
}

t.test(
  'a client of another uid on a listener learns that the daemon is stopping, and until when',
  { skip },
  async (t) => {
    const { w, listener } = await restartWorld(t);
    const before = await pingAsNobody(listener);

    const { inFlight } = await drainFor(w, 3000);
    const stopping = await markedStopping(w);
    const during = await pingAsNobody(listener);
    const socketDuring = existsSync(listener);
    await w.daemon.exited;

    t.match(JSON.parse(before), { ok: true }, 'nobody reaches the listener at all');
    t.match(JSON.parse(during), {
      ok: false,
      error: {
        code: 'DAEMON_UNREACHABLE',
        stopping: { pid: stopping.pid, untilMs: stopping.untilMs },
      },
    });
    t.match(JSON.parse(during).error.message, `(pid ${stopping.pid}) on '${listener}' is stopping`);
    t.ok(socketDuring, 'the listener socket stays while the daemon drains');
    t.match(
      (await inFlight).stdout,
      /^password=ghs_/m,
      'the request in flight is answered as ever',
    );
    t.notOk(existsSync(listener), 'and goes once the daemon has let go');
    t.equal(stoppingDaemon(w.daemon.socketPath), undefined, 'its lock is free');
  },
);

t.test(
  'git credential fill as another uid during a restart by the operator gets a credential from the new daemon',
  { skip },
  async (t) => {
    const { w, listener } = await restartWorld(t);

    const {
      stopping,
      started,
      result: filled,
    } = await restartWhile(w, () =>
      credentialFillAsNobody(t, w.github.host, listener, `${OWNER}/gadgets`),
    );

    t.equal(started.code, 0, started.stderr);
    t.equal(filled.code, 0, filled.stderr);
    t.match(filled.stdout, /^password=ghs_/m, 'the new daemon answered the sandbox');
    t.notMatch(filled.stderr, /no broker daemon is listening|permission denied/);
    t.equal(stopping.pid, w.daemon.pid);
    await assertNothingSecret(t, w, { fill: filled.stderr });
  },
);

t.test(
  'a client of another uid whose own config has autostart on waits for the operator’s restart instead of starting a daemon',
  { skip },
  async (t) => {
    const { w, listener } = await restartWorld(t);
    const home = await mkdtemp(join(tmpdir(), 'gcb-nobody-'));
    chmodSync(home, 0o755);
    t.teardown(() => rm(home, { recursive: true, force: true }));
    // The operator's config, readable by nobody, with autostart on.
    const config = JSON.parse(readFileSync(w.daemon.configPath, 'utf8')) as object;
    const configPath = join(home, 'config.json');
    writeFileSync(configPath, JSON.stringify({ ...config, autostart: true }), { mode: 0o644 });
    const nobodyHome = join(home, 'nobody');
    mkdirSync(nobodyHome);
    chownSync(nobodyHome, NOBODY, NOBODY);

    const {
      stopping,
      started,
      result: got,
    } = await restartWhile(w, () =>
      asNobody(
        [process.execPath, HELPER_BIN, 'get'],
        `protocol=http\nhost=${w.github.host}\npath=acme/gadgets.git\n\n`,
        {
          HOME: nobodyHome,
          XDG_RUNTIME_DIR: join(nobodyHome, 'run'),
          XDG_STATE_HOME: join(nobodyHome, 'state'),
          GIT_CREDENTIAL_BROKER_CONFIG: configPath,
          GIT_CREDENTIAL_BROKER_SOCKET: listener,
        },
      ),
    );

    t.equal(started.code, 0, started.stderr);
    t.equal(got.code, 0, got.stderr);
    t.match(got.stdout, /^password=ghs_/m, 'the operator’s new daemon answered the sandbox');
    t.notOk(existsSync(join(nobodyHome, 'run')), 'nobody started no daemon of its own');
    t.equal(stopping.pid, w.daemon.pid);
    await assertNothingSecret(t, w, { get: got.stderr });
  },
);
