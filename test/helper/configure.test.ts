/**
 * configure against a real git, in an isolated config: what it replaces,
 * what --unset keeps, and what it prints (never a helper's arguments, which
 * may hold a secret). Cases from an adversarial review.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

  t.match(
    out,
    /your .* entries \(a shell command \(!\.\.\.\), a helper, 'store'\) stay in the file/,
  );
  t.notMatch(out, /ghp_SECRETSECRET|hunter2|hunter3|secret\/place/);
});

t.test('never writes terminal escapes from a helper value', async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, '--add', KEY, '\u001b]0;pwned\u0007\u001b[2Jmine');

  const out = (await configure(env)).join('\n');

  // eslint-disable-next-line no-control-regex -- control characters are what must not appear
  t.notMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no control character but the line ends');
});

t.test("configure adds after the user's helpers and --unset takes only its own back", async (t) => {
  const env = isolatedGit(t.testdir());
  const before = ['cache --timeout=60', '!f() {\n echo x; }; f'];
  for (const value of before) gitConfig(env, '--add', KEY, value);
  const configured = (await configure(env)).join('\n');
  // Added afterwards, and only mentioning the broker's path: the user's.
  const after = ['store --file /home/me/.config/git-credential-broker'];
  for (const value of after) gitConfig(env, '--add', KEY, value);

  t.match(configured, /stay in the file but are reset by the broker's entries after them/);
  const withBroker = helpers(env);
  t.same(withBroker.slice(0, 2), before, "the user's entries are untouched, in order");
  t.equal(withBroker[2], '', 'then the reset');
  t.match(withBroker[3], /git-credential-broker\.cjs$/, 'then the broker');

  const out = (await configure(env, true)).join('\n');

  t.same(helpers(env), [...before, ...after], "exactly the broker's two entries are gone");
  t.match(out, /removed the broker's .* entries and .*useHttpPath/);
  t.match(out, /in effect again: 'cache', a shell command \(!\.\.\.\), 'store'/);
  t.equal(gitConfig(env, '--get', 'credential.https://github.com.useHttpPath'), '');
});

t.test('configure run twice writes its entries once', async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, '--add', KEY, 'cache');
  await configure(env);
  const once = helpers(env);
  await configure(env);

  t.same(helpers(env), once);
});

t.test('a second run with the same settings says so, and writes nothing', async (t) => {
  const dir = t.testdir();
  const env = isolatedGit(dir);
  const first = await configure(env);
  const file = readFileSync(join(dir, '.gitconfig'), 'utf8');
  // Another git holding the config file's lock: any write would fail.
  writeFileSync(join(dir, '.gitconfig.lock'), '');

  const second = await configure(env).finally(() => unlinkSync(join(dir, '.gitconfig.lock')));

  t.notMatch(first.join('\n'), /already/);
  t.same(second, [
    `already configured: git runs the broker for https://github.com (--global, ${join(dir, '.gitconfig')}); nothing changed`,
  ]);
  t.equal(readFileSync(join(dir, '.gitconfig'), 'utf8'), file);
});

t.test('a second run puts back a useHttpPath the user turned off', async (t) => {
  const env = isolatedGit(t.testdir());
  await configure(env);
  gitConfig(env, 'credential.https://github.com.useHttpPath', 'false');

  const again = await configure(env);

  t.notMatch(again.join('\n'), /already configured/);
  t.equal(gitConfig(env, '--get', 'credential.https://github.com.useHttpPath'), 'true\n');
});

t.test("a failing git config leaves the user's helpers in place", async (t) => {
  const dir = t.testdir();
  const env = isolatedGit(dir);
  gitConfig(env, '--add', KEY, 'cache');
  await configure(env);
  // Another git holding the config file's lock: every change fails.
  writeFileSync(join(dir, '.gitconfig.lock'), '');

  await t.rejects(configure(env, true), { message: /your own helpers were not touched/ });
  unlinkSync(join(dir, '.gitconfig.lock'));
  t.equal(helpers(env)[0], 'cache');
});

t.test('--unset keeps a reset entry of the user, and says when it had nothing to do', async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, '--add', KEY, '');
  gitConfig(env, '--add', KEY, '!mine --x\n/usr/bin/git-credential-broker');

  const out = (await configure(env, true)).join('\n');

  t.match(out, /^nothing to remove: no broker settings for https:\/\/github\.com/);
  t.same(helpers(env), ['', '!mine --x\n/usr/bin/git-credential-broker']);
});

t.test("with an empty entry of the user's own, --unset says what it had to leave", async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, '--add', KEY, '');
  gitConfig(env, '--add', KEY, 'osxkeychain');
  await configure(env);

  const out = (await configure(env, true)).join('\n');

  t.same(helpers(env), ['', 'osxkeychain', ''], 'the broker command is gone; both empties stay');
  t.match(out, /left the empty .* entries: one is yours/);
  t.match(out, /git config --global --edit/);
});

const PATH_KEY = 'credential.https://github.com.useHttpPath';

t.test('several useHttpPath values, the last false, end fully configured', async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, '--add', PATH_KEY, 'true');
  gitConfig(env, '--add', PATH_KEY, 'false');

  const out = (await configure(env)).join('\n');
  const again = await configure(env);

  t.same(gitConfig(env, '--get-all', PATH_KEY), 'true\n', 'one value, true');
  t.equal(helpers(env).length, 2);
  t.match(out, /useHttpPath = true \(replaced 2 entries: 'true', 'false'\)/);
  t.match(again.join('\n'), /^already configured/);
});

t.test('a useHttpPath without a value, which git refuses, is replaced, and says so', async (t) => {
  const dir = t.testdir();
  const env = isolatedGit(dir);
  // git's credential code stops at such an entry ("missing value").
  writeFileSync(join(dir, '.gitconfig'), '[credential "https://github.com"]\n\tuseHttpPath\n');

  const out = (await configure(env)).join('\n');

  t.equal(gitConfig(env, '--get-all', PATH_KEY), 'true\n');
  t.match(out, /useHttpPath = true \(replaced an entry without a value, which git refuses\)/);
});

t.test('configure lists only what it wrote', async (t) => {
  const env = isolatedGit(t.testdir());
  gitConfig(env, PATH_KEY, 'yes');
  const first = await configure(env);
  gitConfig(env, PATH_KEY, 'off');

  const second = await configure(env);

  t.match(first.join('\n'), /helper = \(empty/);
  t.notMatch(first.join('\n'), /useHttpPath = true/, 'yes was already true');
  t.match(first.join('\n'), /useHttpPath was already on/);
  t.notMatch(second.join('\n'), /helper = /, 'the helper entries were in place');
  t.match(second.join('\n'), /the broker's .*helper entries were already in place/);
  t.match(second.join('\n'), /useHttpPath = true \(replaced 'off'\)/);
});

/** A config file's text, appended as a user editing it would. */
function append(dir: string, text: string): void {
  writeFileSync(join(dir, '.gitconfig'), readFileSync(join(dir, '.gitconfig'), 'utf8') + text);
}

t.test('a helper git still runs after the broker is named, not "already configured"', async (t) => {
  for (const later of [
    // A later `git config --global credential.helper store` lands here.
    '[credential]\n\thelper = store\n',
    // Another spelling of the same URL, which git still matches.
    '[credential "https://GitHub.com/"]\n\thelper = store\n',
    '[credential "https://*.com"]\n\thelper = store\n',
    // No scheme: git matches it as a partial URL, on the host alone.
    '[credential "github.com"]\n\thelper = store\n',
  ]) {
    const dir = t.testdir();
    const env = isolatedGit(dir);
    await configure(env);
    append(dir, later);

    const again = (await configure(env)).join('\n');

    t.notMatch(again, /already configured/, later);
    t.match(again, /git still runs other helpers after the broker for https:\/\/github\.com/);
    t.match(again, /'store' \(global config, '.*\.gitconfig'\)/);
  }
});

t.test('helpers for other hosts or before the broker leave it "already configured"', async (t) => {
  const dir = t.testdir();
  const env = isolatedGit(dir);
  writeFileSync(join(dir, '.gitconfig'), '[credential]\n\thelper = cache\n');
  await configure(env);
  append(
    dir,
    '[credential "https://example.com"]\n\thelper = store\n' +
      '[credential "http://github.com"]\n\thelper = store\n' +
      '[credential "https://github.com:8443"]\n\thelper = store\n',
  );

  const again = await configure(env);

  t.match(again[0], /^already configured/);
  t.notMatch(again.join('\n'), /warning/);
});

t.test('what gets in the way after the broker is named, never a key or password', async (t) => {
  const dir = t.testdir();
  const env = isolatedGit(dir);
  await configure(env);
  append(
    dir,
    '[credential "https://me:hunter2-pw-5531@github.com"]\n\thelper = cache\n' +
      '[credential]\n\tuseHttpPath = false\n',
  );

  const withSome = (await configure(env)).join('\n');
  append(dir, '[credential]\n\thelper =\n');
  const dropped = (await configure(env)).join('\n');

  t.match(withSome, /for some repositories or user names on https:\/\/github\.com.*'cache'/);
  t.match(withSome, /a useHttpPath entry read last .* leaves it off/);
  t.match(dropped, /git does not run the broker for https:\/\/github\.com: an empty credential/);
  t.notMatch(withSome + dropped, /hunter2|me:/);
});

t.test('the first run also names a helper that runs after what it wrote', async (t) => {
  const dir = t.testdir();
  const env = isolatedGit(dir);
  // Set in the environment, which git reads after every config file.
  const withExtra = {
    ...env,
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'credential.helper',
    GIT_CONFIG_VALUE_0: 'store',
  };

  const out = (await configure(withExtra)).join('\n');

  t.match(out, /helper = \(empty/);
  t.match(out, /git still runs other helpers after the broker .*'store' \(command config/);
});

t.test('a relative --socket is written as an absolute path, and the output says so', async (t) => {
  const dir = t.testdir();
  const env = isolatedGit(dir);

  const out = await configureGit({
    scope: 'global',
    host: 'github.com',
    unset: false,
    socket: 'own/d.sock',
    env,
    // Resolved, never created: short, since a socket path has a length limit.
    cwd: '/srv/w',
  });
  const again = await configureGit({
    scope: 'global',
    host: 'github.com',
    unset: false,
    socket: '/srv/w/own/d.sock',
    env,
  });

  t.match(helpers(env).at(-1), / --socket \/srv\/w\/own\/d\.sock$/);
  t.match(out.join('\n'), `--socket 'own/d.sock' is relative: written as '/srv/w/own/d.sock'`);
  t.match(again.join('\n'), /^already configured/m, 'the same socket, given absolute');
});

t.test('configure names the file git wrote, wherever git keeps the global config', async (t) => {
  const root = t.testdir({ a: {}, b: { '.config': { git: { config: '' } } } });
  const dir = join(root, 'a');
  const explicit = isolatedGit(dir);
  // No GIT_CONFIG_GLOBAL and no ~/.gitconfig, but an XDG file: git writes that.
  const xdgHome = join(root, 'b');
  const xdg = { ...isolatedGit(xdgHome), GIT_CONFIG_GLOBAL: undefined };

  const first = await configure(explicit);
  const again = await configure(explicit);
  const unset = await configure(explicit, true);
  const viaXdg = await configure(xdg);

  t.equal(first[0], `wrote ${join(dir, '.gitconfig')} (--global):`);
  t.match(
    again[0],
    `already configured: git runs the broker for https://github.com (--global, ${join(dir, '.gitconfig')})`,
  );
  t.match(unset[0], `(--global, ${join(dir, '.gitconfig')})`);
  t.equal(viaXdg[0], `wrote ${join(xdgHome, '.config', 'git', 'config')} (--global):`);
  t.match(readFileSync(join(xdgHome, '.config', 'git', 'config'), 'utf8'), /useHttpPath = true/);
  t.notOk(existsSync(join(xdgHome, '.gitconfig')));
});

t.test('--system is refused while GIT_CONFIG_NOSYSTEM keeps git from reading it', async (t) => {
  const dir = t.testdir();
  // Where git would write --system, were it not refused: a file under /tmp,
  // never /etc/gitconfig (git writes that even with GIT_CONFIG_NOSYSTEM=1).
  const systemDir = await mkdtemp(join(tmpdir(), 'gcb-system-'));
  t.teardown(() => rm(systemDir, { recursive: true, force: true }));
  const systemFile = join(systemDir, 'gitconfig');
  const env = { ...isolatedGit(dir), GIT_CONFIG_SYSTEM: systemFile };

  await t.rejects(configureGit({ scope: 'system', host: 'github.com', unset: false, env }), {
    code: 'CONFIG',
    message:
      /^GIT_CONFIG_NOSYSTEM is set, so git reads no system config .*; nothing was written: unset GIT_CONFIG_NOSYSTEM for this command, or use --global$/,
  });
  t.notOk(existsSync(systemFile), 'nothing was written');
});
