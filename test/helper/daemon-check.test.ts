/**
 * What configure says about the daemon git's helper will ask, run as a user
 * runs it (the built helper): a real daemon on a temporary socket and one
 * of its listeners with a client policy, a socket nothing answers on, and
 * one something else holds. It warns on stderr, and writes all the same
 * with the exit code it had.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { isolatedGitHome, type IsolatedGitHome } from '../fixtures/git.js';
import { helpers } from '../fixtures/global-config.js';
import { runHelper } from '../fixtures/run-helper.js';

const WARNING = 'git-credential-broker: warning: ';

function configure(home: IsolatedGitHome, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runHelper(['configure', ...args], '', { ...home.env, ...env }, { cwd: home.dir });
}

/** The config file the daemon and autostart read in `home`'s environment. */
function writeBrokerConfig(home: IsolatedGitHome, config: object): string {
  const dir = join(home.dir, '.config', 'git-credential-broker');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return join(dir, 'config.json');
}

/** A short directory for sockets (a Unix socket path is limited to about 100 bytes). */
async function socketDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-check-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('with no daemon on its socket, configure writes and says how to start one', async (t) => {
  const home = await isolatedGitHome(t);
  const socket = join(await socketDir(t), 'none.sock');
  const configPath = join(home.dir, '.config', 'git-credential-broker', 'config.json');

  const byDefault = await configure(home, []);
  const given = await configure(home, ['--host', 'ghe.example.com', '--socket', socket]);

  t.equal(byDefault.code, 0, byDefault.stderr);
  t.match(byDefault.stdout, /^wrote /);
  t.equal(helpers(home).length, 2, 'written all the same');
  t.equal(
    byDefault.stderr,
    `${WARNING}no broker daemon answers on '${join(home.dir, 'git-credential-broker', 'daemon.sock')}' yet, so git gets no credential for https://github.com until one does: start it with 'git-credential-broker daemon --detach', or have the helper start it on first use ("autostart": true in '${configPath}')\n`,
  );
  t.equal(given.code, 0, given.stderr);
  t.match(
    given.stderr,
    `no broker daemon answers on '${socket}' yet, so git gets no credential for https://ghe.example.com until one does: start it with 'git-credential-broker daemon --detach --socket ${socket}'`,
  );
});

t.test(
  'with autostart on, it says the daemon starts on first use, and for which hosts',
  async (t) => {
    const home = await isolatedGitHome(t);
    const configPath = writeBrokerConfig(home, {
      autostart: true,
      integrations: [{ provider: 'command', host: 'github.com', command: ['true'] }],
    });

    const served = await configure(home, []);
    const unserved = await configure(home, ['--host', 'ghe.example.com']);

    t.equal(served.code, 0, served.stderr);
    t.match(
      served.stderr,
      /^git-credential-broker: warning: no broker daemon answers on '.*' yet; /,
    );
    t.match(
      served.stderr,
      `; it will be started on first use (autostart is on in '${configPath}')\n`,
    );
    t.equal(unserved.code, 0, unserved.stderr);
    t.match(
      unserved.stderr,
      `; autostart will start one on first use, but its config ('${configPath}') has no integration for ghe.example.com (only 'github.com'): add one, or git gets no credential for https://ghe.example.com\n`,
    );
  },
);

t.test(
  'a daemon that serves other hosts only is named with the fix; on a listener with a policy, nothing is said',
  async (t) => {
    const sockets = await socketDir(t);
    const listener = join(sockets, 'sandbox', 'daemon.sock');
    const daemon = await startDaemonProcess(t.testdir(), {
      integrations: [
        { name: 'tools', provider: 'command', host: 'tools.internal', command: ['true'] },
      ],
      listeners: [{ socket: listener, allow: ['team/*'] }],
    });
    t.teardown(() => daemon.stop());
    const home = await isolatedGitHome(t);
    // A helper git runs after the broker: configure fails, exit 1, as before.
    const storeAfter = {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: 'store',
    };

    const unserved = await configure(home, ['--socket', daemon.socketPath]);
    const served = await configure(home, [
      '--host',
      'tools.internal',
      '--socket',
      daemon.socketPath,
    ]);
    const restricted = await configure(home, ['--host', 'ghe.example.com', '--socket', listener]);
    const failing = await configure(home, ['--socket', daemon.socketPath], storeAfter);

    t.equal(unserved.code, 0, unserved.stderr);
    t.equal(
      unserved.stderr,
      `${WARNING}the broker daemon on '${daemon.socketPath}' serves 'tools.internal' only, so git gets no credential for https://github.com from it: add an integration for github.com to its config ('${daemon.configPath}'), then run 'git-credential-broker reload --socket ${daemon.socketPath}'\n`,
    );
    t.equal(served.code, 0, served.stderr);
    t.equal(served.stderr, '', 'a host the daemon serves: nothing to say');
    t.equal(restricted.code, 0, restricted.stderr);
    t.equal(restricted.stderr, '', 'status is refused there: no guess');
    t.equal(helpers(home, 'https://ghe.example.com').length, 2, 'written all the same');
    t.equal(failing.code, 1, 'the exit code is what the chain makes it');
    t.match(failing.stderr, /^git-credential-broker: warning: the broker daemon on .* serves/);
    t.match(failing.stderr, /\ngit-credential-broker: the broker's entries .* 'store'/);
  },
);

t.test('something else on the socket is named as such', async (t) => {
  const home = await isolatedGitHome(t);
  const socket = join(await socketDir(t), 'other.sock');
  // Reads the request and closes without a word: not a broker daemon.
  const server = createServer((connection) => {
    connection.on('error', () => {});
    connection.once('data', () => connection.end());
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = await configure(home, ['--socket', socket]);

  t.equal(run.code, 0, run.stderr);
  t.match(
    run.stderr,
    `${WARNING}'${socket}' does not answer as a broker daemon (what listens at '${socket}' closed the connection without a reply; a broker daemon's log says why, and another program there is no broker daemon), so git gets no credential for https://github.com there until a broker daemon does\n`,
  );
});
