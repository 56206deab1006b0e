/**
 * The detached daemon's log path, when it is no regular file one can
 * append to: a FIFO hung `daemon --detach --log-file FIFO` and git's
 * autostart for good, and a directory, a dangling link or a file in the
 * way gave git "internal error in the broker helper" (found in review).
 * The built helper, a real daemon config, real FIFOs.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { defaultDaemonLogPath } from '../../shared/daemon-log-path.js';
import type { BrokerWorld } from '../fixtures/broker-world.js';
import { cli, world } from '../fixtures/cli-world.js';
import { runHelper } from '../fixtures/run-helper.js';

/** Each must end within this: a hang is the failure. */
const QUICK_MS = 8_000;

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

async function autostartWorld(t: Test): Promise<{ w: BrokerWorld; env: NodeJS.ProcessEnv }> {
  const w = await world(t);
  await w.daemon.stop();
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as object;
  await writeFile(w.daemon.configPath, JSON.stringify({ ...config, autostart: true }));
  const env = { GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath };
  t.teardown(() => cli(w, ['stop'], env));
  return { w, env };
}

/** `daemon --detach --log-file` with what `make` puts in the world's directory. */
async function detachLoggingTo(t: Test, make: (dir: string) => Promise<string>) {
  const w = await world(t);
  await w.daemon.stop();
  const logFile = await make(w.dir);
  t.teardown(() => cli(w, ['stop']));
  const started = Date.now();
  const run = await cli(w, [
    'daemon',
    '--detach',
    '--config',
    w.daemon.configPath,
    '--log-file',
    logFile,
  ]);
  return { logFile, run, ms: Date.now() - started, status: await cli(w, ['status', '--json']) };
}

t.test(
  'daemon --detach --log-file FIFO refuses at once, naming the path and the fix',
  async (t) => {
    const {
      logFile: fifo,
      run,
      ms,
      status,
    } = await detachLoggingTo(t, async (dir) => {
      mkfifo(join(dir, 'log.fifo'));
      return join(dir, 'log.fifo');
    });

    t.ok(ms < QUICK_MS, `ended in ${ms} ms`);
    t.equal(run.code, 1, run.stderr + run.stdout);
    t.match(
      run.stderr,
      `cannot write the broker daemon log '${fifo}': it is a named pipe (FIFO), not a regular file; give --log-file a regular file`,
    );
    t.not(status.code, 0, 'no daemon was started');
  },
);

const wrongPaths: [string, (dir: string) => Promise<string>, RegExp][] = [
  [
    'a directory',
    async (dir) => {
      await mkdir(join(dir, 'logdir'));
      return join(dir, 'logdir');
    },
    /: it is a directory, not a regular file; give --log-file a regular file/,
  ],
  [
    'a path under a file',
    async (dir) => {
      await writeFile(join(dir, 'plain'), '');
      return join(dir, 'plain', 'd.log');
    },
    /: cannot create its directory: .*is a file, not a directory/,
  ],
  [
    'a dangling symbolic link',
    async (dir) => {
      await symlink(join(dir, 'gone', 'x.log'), join(dir, 'dangling.log'));
      return join(dir, 'dangling.log');
    },
    /: it is a symbolic link to '.*gone\/x\.log', which does not exist; remove the link/,
  ],
];

for (const [what, make, expected] of wrongPaths) {
  t.test(`daemon --detach --log-file on ${what} says what is wrong`, async (t) => {
    const { logFile: path, run, status } = await detachLoggingTo(t, make);

    t.equal(run.code, 1, run.stderr + run.stdout);
    t.match(run.stderr, `cannot write the broker daemon log '${path}'`);
    t.match(run.stderr, expected);
    t.notMatch(run.stderr, /internal error/);
    t.not(status.code, 0, 'no daemon was started');
  });
}

t.test(
  'unwritable log file is refused with permission denied',
  { skip: process.geteuid?.() === 0 ? 'root writes any file' : false },
  async (t) => {
    const { logFile: path, run } = await detachLoggingTo(t, async (dir) => {
      await writeFile(join(dir, 'ro.log'), '');
      await chmod(join(dir, 'ro.log'), 0o400);
      return join(dir, 'ro.log');
    });

    t.equal(run.code, 1, run.stderr + run.stdout);
    t.match(run.stderr, `cannot write the broker daemon log '${path}': permission denied`);
  },
);

t.test('autostart with a FIFO at the default log path tells git to stop, at once', async (t) => {
  const { w, env } = await autostartWorld(t);
  const stateHome = join(w.dir, 'state');
  const log = defaultDaemonLogPath({ ...w.env, XDG_STATE_HOME: stateHome }, w.daemon.socketPath);
  await mkdir(dirname(log), { recursive: true });
  mkfifo(log);
  const input = `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n\n`;

  const started = Date.now();
  const get = await runHelper(['--socket', w.daemon.socketPath, 'get'], input, {
    ...w.env,
    ...env,
    XDG_STATE_HOME: stateHome,
  });

  t.ok(Date.now() - started < QUICK_MS, 'git is not left hanging');
  t.equal(get.code, 1, get.stderr);
  t.equal(get.stdout, 'quit=1\n', 'git does not fall through to a prompt');
  t.match(get.stderr, `cannot write the broker daemon log '${log}': it is a named pipe (FIFO)`);
});

t.test('autostart with XDG_STATE_HOME a file tells git to stop, saying so', async (t) => {
  const { w, env } = await autostartWorld(t);
  const stateHome = join(w.dir, 'state-file');
  await writeFile(stateHome, '');
  const input = `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n\n`;

  const get = await runHelper(['--socket', w.daemon.socketPath, 'get'], input, {
    ...w.env,
    ...env,
    XDG_STATE_HOME: stateHome,
  });

  t.equal(get.code, 1, get.stderr);
  t.equal(get.stdout, 'quit=1\n');
  t.match(
    get.stderr,
    /cannot write the broker daemon log '.*': cannot create its directory: .*is a file, not a directory.*; .*set XDG_STATE_HOME to a directory of yours/,
  );
  t.notMatch(get.stderr, /internal error/);
});
