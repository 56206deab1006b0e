/**
 * The installed binary is one CommonJS file (bundled from helper/bin.ts) so
 * git's every credential starts fast. These tests pin what that promises:
 * it answers git with nothing beside it, and hands every other command to
 * the ES module build next to it.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createBrokerWorld, OWNER } from '../fixtures/broker-world.js';
import { runGit } from '../fixtures/git.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { runHelper } from '../fixtures/run-helper.js';
import { spawnSync } from 'node:child_process';

t.test('the binary answers git from its own file alone', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  const lone = join(w.dir, 'lone');
  await mkdir(lone);
  const copy = join(lone, 'git-credential-broker.cjs');
  await copyFile(HELPER_BIN, copy);

  const fill = await runGit(
    [
      '-c',
      'credential.helper=',
      '-c',
      `credential.helper=${copy} --socket ${w.daemon.socketPath}`,
      '-c',
      'credential.useHttpPath=true',
      'credential',
      'fill',
    ],
    { env: w.env, input: `protocol=http\nhost=${w.github.host}\npath=${OWNER}/widgets\n\n` },
  );
  t.equal(fill.code, 0, `git credential fill succeeds: ${fill.stderr}`);
  t.match(fill.stdout, /^username=x-access-token$/m);
  t.match(fill.stdout, /^password=.+$/m, 'a password came back');
  t.equal(w.github.mintCount, 1, 'the daemon minted for it');

  // The copy really is alone: a command for people needs the package.
  const alone = spawnSync(process.execPath, [copy, '--version'], { encoding: 'utf8' });
  t.equal(alone.status, 1);
  t.match(alone.stderr, /cannot run this command/);
  t.match(alone.stderr, /reinstall git-credential-broker/, 'and says how to fix it');
  t.notMatch(alone.stderr, /\n\s+at /, 'one message, no stack trace');
});

t.test('a lone copy cannot autostart a daemon, and says why', async (t) => {
  const dir = t.testdir();
  const copy = join(dir, 'git-credential-broker.cjs');
  await copyFile(HELPER_BIN, copy);
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify({ autostart: true, integrations: [] }));
  // Short: Unix socket paths are limited; nothing listens there.
  const socketDir = await mkdtemp(join(tmpdir(), 'gcb-lone-'));
  t.teardown(() => rm(socketDir, { recursive: true, force: true }));

  const get = spawnSync(process.execPath, [copy, '--socket', join(socketDir, 's.sock'), 'get'], {
    input: 'protocol=https\nhost=github.com\npath=acme/widgets\n\n',
    encoding: 'utf8',
    env: { ...process.env, GIT_CREDENTIAL_BROKER_CONFIG: configPath, XDG_STATE_HOME: dir },
  });
  t.equal(get.status, 1);
  t.match(
    get.stderr,
    /cannot start the broker daemon: '.*main\.js' is missing; run git-credential-broker from its installed package/,
  );
  t.notMatch(get.stderr, /\n\s+at /, 'no stack trace');
});

t.test('the binary hands commands for people to the ES module build', async (t) => {
  const version = await runHelper(['--version'], '');
  t.equal(version.code, 0);
  t.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  // A mistyped command: one far from every command, on a pipe, is taken
  // for an action of a later git and ignored by the bundle itself.
  const unknown = await runHelper(['stauts'], '');
  t.not(unknown.code, 0, 'an unknown command fails');
  t.match(unknown.stderr, /stauts.*did you mean 'status'/, 'and names what was wrong');
});
