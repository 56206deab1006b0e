/**
 * The fixes a refused socket path is given, tried on the real daemon (found
 * in a new-user trial): an example path is one the daemon then takes, a
 * directory is never to be moved away, and a listener's path is named by
 * its config key, not as --socket.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { runHelper } from '../fixtures/run-helper.js';

const INTEGRATIONS = [{ provider: 'command', host: 'git.example.test', command: ['/bin/true'] }];

async function base(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-ra-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function brokerEnv(dir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_RUNTIME_DIR: join(dir, 'runtime'),
  };
}

function writeConfig(dir: string, name: string, listeners: unknown[] = []): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({ integrations: INTEGRATIONS, auditLog: join(dir, 'audit.log'), listeners }),
  );
  return path;
}

/** The example path a refusal gave, quoted either way. */
function exampleIn(stderr: string): string | undefined {
  return /for example (?:--socket '([^']+)'|"([^"]+)")/.exec(stderr)?.slice(1).find(Boolean);
}

t.test(
  'a socket on /proc is refused as being on procfs, with no path under /proc as the fix',
  { skip: process.platform === 'linux' ? false : 'Linux only', timeout: 60_000 },
  async (t) => {
    const dir = await base(t);

    const run = await runHelper(
      ['daemon', '--detach', '--config', writeConfig(dir, 'c'), '--socket', '/proc/self/d.sock'],
      '',
      brokerEnv(dir),
    );

    t.equal(run.code, 1, run.stderr);
    t.match(
      run.stderr,
      "socket directory '/proc/self' is on procfs, a file system the kernel makes up, where no socket can be made; give the socket a path on an ordinary file system",
    );
    t.notMatch(run.stderr, /for example/);
  },
);

t.test('a directory as --socket is never to be moved away', { timeout: 60_000 }, async (t) => {
  const dir = await base(t);
  const sticky = join(dir, 'shared');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);

  const detached = await runHelper(
    ['daemon', '--detach', '--config', writeConfig(dir, 'c'), '--socket', sticky],
    '',
    brokerEnv(dir),
  );

  t.equal(detached.code, 1, detached.stderr);
  t.match(detached.stderr, `'${sticky}' is a directory, not a socket`);
  t.match(detached.stderr, "--socket takes a socket file's path, not its directory's");
  t.notMatch(detached.stderr, 'move it');
});

t.test(
  "a listener's directory is named by its config key, with an example the daemon then takes",
  { timeout: 90_000 },
  async (t) => {
    const dir = await base(t);
    chmodSync(dir, 0o711);
    const sticky = join(dir, 'shared');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    const socket = join(dir, 'run', 'd.sock');

    const directory = await runHelper(
      ['daemon', '--config', writeConfig(dir, 'dir', [{ socket: sticky }]), '--socket', socket],
      '',
      brokerEnv(dir),
    );
    const openDir = await runHelper(
      ['daemon', '--config', writeConfig(dir, 'open', [{ socket: join(open, 'ci.sock') }])],
      '',
      { ...brokerEnv(dir), GIT_CREDENTIAL_BROKER_SOCKET: socket },
    );

    t.equal(directory.code, 1, directory.stderr);
    t.match(
      directory.stderr,
      `'${sticky}' is a directory; listeners[0].socket in the config takes the socket file's path, not its directory's, for example "${join(sticky, 'git-credential-broker', 'daemon.sock')}"`,
    );
    t.notMatch(directory.stderr, '--socket');
    t.equal(openDir.code, 1, openDir.stderr);
    t.match(
      openDir.stderr,
      `socket directory '${open}' is accessible to other users (mode 755); put the socket in a directory of its own, for example "${join(open, 'git-credential-broker', 'ci.sock')}" as listeners[0].socket in the config`,
    );
    const examples = [exampleIn(directory.stderr), exampleIn(openDir.stderr)];
    mkdirSync(join(dir, 'served'));
    const daemon = await startDaemonProcess(
      join(dir, 'served'),
      { integrations: INTEGRATIONS, listeners: examples.map((example) => ({ socket: example })) },
      brokerEnv(dir),
      { socketPath: socket },
    );
    t.teardown(() => daemon.stop());
    for (const example of examples) t.ok(existsSync(example!), `the daemon listens on ${example}`);
  },
);
