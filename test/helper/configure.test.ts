/**
 * configure against a real git, in an isolated config: what it replaces,
 * what --unset keeps, and what it prints (never a helper's arguments, which
 * may hold a secret). Cases from an adversarial review.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { configureGit } from '../../helper/commands/configure.js';

const KEY = 'credential.https://github.com.helper';

function isolatedGit(dir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, '.config'),
    GIT_CONFIG_GLOBAL: join(dir, '.gitconfig'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CEILING_DIRECTORIES: dir,
  };
}

function gitConfig(env: NodeJS.ProcessEnv, ...args: string[]): string {
  return spawnSync('git', ['config', '--global', ...args], { env, encoding: 'utf8' }).stdout;
}

/** The helper entries for github.com, NUL-separated so newlines survive. */
function helpers(env: NodeJS.ProcessEnv): string[] {
  return gitConfig(env, '-z', '--get-all', KEY).split('\0').slice(0, -1);
}

const configure = (env: NodeJS.ProcessEnv, unset = false) =>
  configureGit({ scope: 'global', host: 'github.com', unset, env });

t.test('never prints a secret from a helper it replaces', async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, '--add', KEY, '!GH_TOKEN=ghp_SECRETSECRET gh auth git-credential');
  gitConfig(
    env,
    '--add',
    KEY,
    '!f() { echo username=x;\n TOKEN=hunter2 echo password=$TOKEN; }; f',
  );
  gitConfig(env, '--add', KEY, 'TOKEN=hunter3 store');
  gitConfig(env, '--add', KEY, 'store --file=/secret/place');

  const out = (await configure(env)).join('\n');

  t.match(out, /replaced .*: a shell command \(!\.\.\.\), a helper, 'store'/);
  t.notMatch(out, /ghp_SECRETSECRET|hunter2|hunter3|secret\/place/);
});

t.test('never writes terminal escapes from a helper value', async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, '--add', KEY, '\u001b]0;pwned\u0007\u001b[2Jmine');

  const out = (await configure(env)).join('\n');

  // eslint-disable-next-line no-control-regex -- control characters are what must not appear
  t.notMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no control character but the line ends');
});

t.test('--unset removes exactly what configure wrote and keeps the rest, in order', async (t) => {
  const env = isolatedGit(t.testdir());
  const theirsBefore = ['', 'cache --timeout=60'];
  for (const value of theirsBefore) gitConfig(env, '--add', KEY, value);
  await configure(env);
  // Added afterwards, and only mentioning the broker's paths: the user's.
  const theirsAfter = [
    'store --file /home/me/.config/git-credential-broker',
    'node /opt/other-tool/dist/helper/main.js',
    '!mine --x\n/usr/bin/git-credential-broker',
  ];
  for (const value of theirsAfter) gitConfig(env, '--add', KEY, value);

  const out = (await configure(env, true)).join('\n');

  t.same(helpers(env), theirsAfter, 'what configure replaced is gone; what came later stays');
  t.match(out, /removed the broker's .* entries and .*useHttpPath/);
  t.match(out, /kept .*: 'store', 'node', a shell command/);
  t.equal(gitConfig(env, '--get', 'credential.https://github.com.useHttpPath'), '');
});

t.test('--unset keeps a reset entry of the user, and says when it had nothing to do', async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, '--add', KEY, '');
  gitConfig(env, '--add', KEY, '!mine --x\n/usr/bin/git-credential-broker');

  const out = (await configure(env, true)).join('\n');

  t.match(out, /^nothing to remove: no broker settings for https:\/\/github\.com/);
  t.same(helpers(env), ['', '!mine --x\n/usr/bin/git-credential-broker']);
});

t.test('a broker entry from before the bundle is recognized as the broker', async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, '--add', KEY, '');
  gitConfig(env, '--add', KEY, "'/opt/g c b/dist/helper/main.js' --socket /run/gcb.sock");

  const configured = (await configure(env)).join('\n');
  t.notMatch(configured, /replaced/, 'an older broker entry is not reported as replaced');
  await configure(env, true);

  t.same(helpers(env), []);
});
