/**
 * configure against a real git, in an isolated config: what it replaces,
 * what --unset keeps, and what it prints (never a helper's arguments, which
 * may hold a secret). Cases from an adversarial review. Git runs in a
 * directory under the temporary directory, outside any repository.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { configureGit, type ConfigureResult } from '../../helper/commands/configure.js';
import { isolatedGitHome, type IsolatedGitHome } from '../fixtures/git.js';
import { configure, gitConfig, helpers } from '../fixtures/global-config.js';
import { recordSecrets } from '../fixtures/leak-ledger.js';
import { runHelper } from '../fixtures/run-helper.js';

const KEY = 'credential.https://github.com.helper';

t.test('never prints a secret from a helper it replaces', async (t) => {
  const home = await isolatedGitHome(t);
  gitConfig(home, '--add', KEY, '!GH_TOKEN=ghp_SECRETSECRET gh auth git-credential');
  gitConfig(
    home,
    '--add',
    KEY,
    '!f() { echo username=x;\n TOKEN=hunter2 echo password=$TOKEN; }; f',
  );
  gitConfig(home, '--add', KEY, 'TOKEN=hunter3 store');
  gitConfig(home, '--add', KEY, 'store --file=/secret/place');

  const out = (await configure(home)).lines.join('\n');

  t.match(
    out,
    /your .* entries \(a shell command \(!\.\.\.\), a helper, 'store'\) stay in the file/,
  );
  t.notMatch(out, /ghp_SECRETSECRET|hunter2|hunter3|secret\/place/);
});

t.test('never writes terminal escapes from a helper value', async (t) => {
  const home = await isolatedGitHome(t);
  gitConfig(home, '--add', KEY, '\u001b]0;pwned\u0007\u001b[2Jmine');

  const out = (await configure(home)).lines.join('\n');

  // eslint-disable-next-line no-control-regex -- control characters are what must not appear
  t.notMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no control character but the line ends');
});

t.test("configure adds after the user's helpers and --unset takes only its own back", async (t) => {
  const home = await isolatedGitHome(t);
  const before = ['cache --timeout=60', '!f() {\n echo x; }; f'];
  for (const value of before) gitConfig(home, '--add', KEY, value);
  const configured = (await configure(home)).lines.join('\n');
  // Added afterwards, and only mentioning the broker's path: the user's.
  const after = ['store --file /home/me/.config/git-credential-broker'];
  for (const value of after) gitConfig(home, '--add', KEY, value);

  t.match(configured, /stay in the file but are reset by the broker's entries after them/);
  const withBroker = helpers(home);
  t.same(withBroker.slice(0, 2), before, "the user's entries are untouched, in order");
  t.equal(withBroker[2], '', 'then the reset');
  t.match(withBroker[3], /git-credential-broker\.cjs$/, 'then the broker');

  const out = (await configure(home, true)).lines.join('\n');

  t.same(helpers(home), [...before, ...after], "exactly the broker's two entries are gone");
  t.match(out, /removed the broker's .* entries and .*useHttpPath/);
  t.match(out, /in effect again: 'cache', a shell command \(!\.\.\.\), 'store'/);
  t.equal(gitConfig(home, '--get', 'credential.https://github.com.useHttpPath'), '');
});

t.test('configure run twice writes its entries once', async (t) => {
  const home = await isolatedGitHome(t);
  gitConfig(home, '--add', KEY, 'cache');
  await configure(home);
  const once = helpers(home);
  await configure(home);

  t.same(helpers(home), once);
});

t.test('a second run with the same settings says so, and writes nothing', async (t) => {
  const home = await isolatedGitHome(t);
  const dir = home.dir;
  const first = await configure(home);
  const file = readFileSync(join(dir, '.gitconfig'), 'utf8');
  // Another git holding the config file's lock: any write would fail.
  writeFileSync(join(dir, '.gitconfig.lock'), '');

  const second = await configure(home).finally(() => unlinkSync(join(dir, '.gitconfig.lock')));

  t.notMatch(first.lines.join('\n'), /already/);
  t.same(second.lines, [
    `already configured: git runs the broker for https://github.com (--global, ${join(dir, '.gitconfig')}); nothing changed`,
  ]);
  t.equal(second.failure, undefined);
  t.match(second.warnings, [/^no broker daemon answers on /], 'none runs in these tests');
  t.equal(readFileSync(join(dir, '.gitconfig'), 'utf8'), file);
});

t.test('a second run puts back a useHttpPath the user turned off', async (t) => {
  const home = await isolatedGitHome(t);
  await configure(home);
  gitConfig(home, 'credential.https://github.com.useHttpPath', 'false');

  const again = await configure(home);

  t.notMatch(again.lines.join('\n'), /already configured/);
  t.equal(again.failure, undefined);
  t.equal(gitConfig(home, '--get', 'credential.https://github.com.useHttpPath'), 'true\n');
});

t.test("a failing git config leaves the user's helpers in place", async (t) => {
  const home = await isolatedGitHome(t);
  const dir = home.dir;
  gitConfig(home, '--add', KEY, 'cache');
  await configure(home);
  // Another git holding the config file's lock: every change fails.
  writeFileSync(join(dir, '.gitconfig.lock'), '');

  await t.rejects(configure(home, true), { message: /your own helpers were not touched/ });
  unlinkSync(join(dir, '.gitconfig.lock'));
  t.equal(helpers(home)[0], 'cache');
});

t.test('--unset keeps a reset entry of the user, and says when it had nothing to do', async (t) => {
  const home = await isolatedGitHome(t);
  gitConfig(home, '--add', KEY, '');
  gitConfig(home, '--add', KEY, '!mine --x\n/usr/bin/git-credential-broker');

  const out = (await configure(home, true)).lines.join('\n');

  t.match(out, /^nothing to remove: no broker settings for https:\/\/github\.com/);
  t.same(helpers(home), ['', '!mine --x\n/usr/bin/git-credential-broker']);
});

t.test("with an empty entry of the user's own, --unset says what it had to leave", async (t) => {
  const home = await isolatedGitHome(t);
  gitConfig(home, '--add', KEY, '');
  gitConfig(home, '--add', KEY, 'osxkeychain');
  await configure(home);

  const out = (await configure(home, true)).lines.join('\n');

  t.same(helpers(home), ['', 'osxkeychain', ''], 'the broker command is gone; both empties stay');
  t.match(out, /left the empty .* entries: one is yours/);
  t.match(out, /git config --global --edit/);
});

const PATH_KEY = 'credential.https://github.com.useHttpPath';

t.test('several useHttpPath values, the last false, end fully configured', async (t) => {
  const home = await isolatedGitHome(t);
  gitConfig(home, '--add', PATH_KEY, 'true');
  gitConfig(home, '--add', PATH_KEY, 'false');

  const out = (await configure(home)).lines.join('\n');
  const again = await configure(home);

  t.same(gitConfig(home, '--get-all', PATH_KEY), 'true\n', 'one value, true');
  t.equal(helpers(home).length, 2);
  t.match(out, /useHttpPath = true \(replaced 2 entries: 'true', 'false'\)/);
  t.match(again.lines.join('\n'), /^already configured/);
});

t.test('a useHttpPath without a value, which git refuses, is replaced, and says so', async (t) => {
  const home = await isolatedGitHome(t);
  const dir = home.dir;
  // git's credential code stops at such an entry ("missing value").
  writeFileSync(join(dir, '.gitconfig'), '[credential "https://github.com"]\n\tuseHttpPath\n');

  const out = (await configure(home)).lines.join('\n');

  t.equal(gitConfig(home, '--get-all', PATH_KEY), 'true\n');
  t.match(out, /useHttpPath = true \(replaced an entry without a value, which git refuses\)/);
});

t.test(
  'a useHttpPath without a value in a file the config includes is refused, nothing written',
  async (t) => {
    const home = await isolatedGitHome(t);
    const included = join(home.dir, 'included.gitconfig');
    // --replace-all edits only the file configure writes: this entry would stay.
    writeFileSync(included, '[credential "https://github.com"]\n\tuseHttpPath\n');
    const text = `[include]\n\tpath = ${included}\n`;
    writeFileSync(join(home.dir, '.gitconfig'), text);

    const run = await runHelper(['configure'], '', home.env, { cwd: home.dir });

    t.equal(run.code, 1, run.stderr);
    t.equal(run.stdout, '');
    t.match(
      run.stderr,
      `git-credential-broker: git stops at 'usehttppath' without a value under [credential "https://github.com"] (global config, '${included}'): every credential request for https://github.com fails there`,
    );
    t.match(
      run.stderr,
      /; nothing was written: remove that line, or give it a value \('useHttpPath = true'\), then run configure again\n$/,
    );
    t.equal(readFileSync(join(home.dir, '.gitconfig'), 'utf8'), text, 'nothing was written');
  },
);

t.test('configure lists only what it wrote', async (t) => {
  const home = await isolatedGitHome(t);
  gitConfig(home, PATH_KEY, 'yes');
  const first = await configure(home);
  gitConfig(home, PATH_KEY, 'off');

  const second = await configure(home);

  t.match(first.lines.join('\n'), /helper = \(empty/);
  t.notMatch(first.lines.join('\n'), /useHttpPath = true/, 'yes was already true');
  t.match(first.lines.join('\n'), /useHttpPath was already on/);
  t.notMatch(second.lines.join('\n'), /helper = /, 'the helper entries were in place');
  t.match(second.lines.join('\n'), /the broker's .*helper entries were already in place/);
  t.match(second.lines.join('\n'), /useHttpPath = true \(replaced 'off'\)/);
});

/** What a failed configure says: its error's message, or '' when it did not fail. */
function failureOf(result: ConfigureResult): string {
  return result.failure?.message ?? '';
}

/** What the command said on stderr but its warnings (none runs a daemon here). */
function withoutWarnings(stderr: string): string {
  return stderr.replace(/^git-credential-broker: warning: .*\n/gm, '');
}

/** A config file's text, appended as a user editing it would. */
function append(dir: string, text: string): void {
  writeFileSync(join(dir, '.gitconfig'), readFileSync(join(dir, '.gitconfig'), 'utf8') + text);
}

t.test('a helper git still runs after the broker fails configure, and is named', async (t) => {
  for (const later of [
    // A later `git config --global credential.helper store` lands here.
    '[credential]\n\thelper = store\n',
    // Another spelling of the same URL, which git still matches.
    '[credential "https://GitHub.com/"]\n\thelper = store\n',
    '[credential "https://*.com"]\n\thelper = store\n',
    // No scheme: git matches it as a partial URL, on the host alone.
    '[credential "github.com"]\n\thelper = store\n',
  ]) {
    const home = await isolatedGitHome(t);
    const dir = home.dir;
    await configure(home);
    append(dir, later);

    const again = await configure(home);

    t.notMatch(again.lines.join('\n'), /already configured/, later);
    t.match(again.lines, [
      /^nothing changed: the broker's entries for https:\/\/github\.com are in place/,
    ]);
    t.match(again.failure, { code: 'CONFIG' });
    t.match(
      failureOf(again),
      /^the broker's entries for https:\/\/github\.com are in place \(--global, .*; nothing changed\), but git still runs other helpers after the broker for https:\/\/github\.com/,
    );
    t.match(failureOf(again), /'store' \(global config, '.*\.gitconfig'\)/);
  }
});

t.test('helpers for other hosts or before the broker leave it "already configured"', async (t) => {
  const home = await isolatedGitHome(t);
  const dir = home.dir;
  writeFileSync(join(dir, '.gitconfig'), '[credential]\n\thelper = cache\n');
  await configure(home);
  append(
    dir,
    '[credential "https://example.com"]\n\thelper = store\n' +
      '[credential "http://github.com"]\n\thelper = store\n' +
      '[credential "https://github.com:8443"]\n\thelper = store\n',
  );

  const again = await configure(home);

  t.match(again.lines[0], /^already configured/);
  t.equal(again.failure, undefined);
});

t.test('what gets in the way after the broker is named, never a key or password', async (t) => {
  const home = await isolatedGitHome(t);
  const dir = home.dir;
  await configure(home);
  append(
    dir,
    '[credential "https://me:hunter2-pw-5531@github.com"]\n\thelper = cache\n' +
      '[credential]\n\tuseHttpPath = false\n',
  );

  const withSome = failureOf(await configure(home));
  append(dir, '[credential]\n\thelper =\n');
  const dropped = failureOf(await configure(home));

  t.match(withSome, /for some repositories or user names on https:\/\/github\.com.*'cache'/);
  t.match(withSome, /; also, a useHttpPath entry read last .* leaves it off/);
  t.match(dropped, /git does not run the broker for https:\/\/github\.com: an empty credential/);
  t.notMatch(withSome + dropped, /hunter2|me:/);
});

t.test(
  'an entry for some repositories that drops the broker or the path fails configure, its entries written',
  async (t) => {
    const home = await isolatedGitHome(t);
    // The built helper, as the second run: each writes the path of its own binary.
    await runHelper(['configure'], '', home.env, { cwd: home.dir });
    // An owner's own reset, read after the broker's entries: git runs no helper for acme/*.
    append(home.dir, '[credential "https://github.com/acme"]\n\thelper =\n');
    // Read last of all, from the environment: git sends no path for acme/*.
    const env = {
      ...home.env,
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'credential.https://github.com/acme.useHttpPath',
      GIT_CONFIG_VALUE_0: 'false',
    };

    const dropped = await runHelper(['configure'], '', home.env, { cwd: home.dir });
    const pathOff = await runHelper(['configure'], '', env, { cwd: home.dir });

    t.equal(dropped.code, 1, dropped.stderr);
    t.match(
      dropped.stdout,
      /^nothing changed: the broker's entries for https:\/\/github\.com are in place/,
    );
    t.equal(
      withoutWarnings(dropped.stderr),
      `git-credential-broker: the broker's entries for https://github.com are in place (--global, ${join(home.dir, '.gitconfig')}; nothing changed), but for some repositories or user names on https://github.com, or remotes that spell its host another way, git does not run the broker: an empty 'helper =' entry read after it clears it, under [credential "https://github.com/acme"] (global config, '${join(home.dir, '.gitconfig')}'); remove that entry, or have it read before the broker's entries\n`,
    );
    t.equal(pathOff.code, 1, pathOff.stderr);
    t.match(
      pathOff.stderr,
      /; also, for some repositories or user names on https:\/\/github\.com, or remotes that spell its host another way, a useHttpPath entry read last, under \[credential "https:\/\/github\.com\/acme"\] \(command config, the command line\), leaves it off, so git sends no repository path and the broker refuses them; remove that entry\n$/,
    );
    t.equal(helpers(home).length, 2, "the broker's entries stay");
  },
);

t.test('a key git never matches, an escaped slash in its path, fails nothing', async (t) => {
  const home = await isolatedGitHome(t);
  await runHelper(['configure'], '', home.env, { cwd: home.dir });
  // Git keeps `%2F` escaped and sends `acme/widgets` with a plain slash:
  // this reset applies to no request, and git runs the broker for all.
  append(home.dir, '[credential "https://github.com/acme%2Fwidgets"]\n\thelper =\n');
  const trace = spawnSync('git', ['credential', 'fill'], {
    env: { ...home.env, GIT_TRACE: '1' },
    cwd: home.dir,
    input: 'protocol=https\nhost=github.com\npath=acme/widgets\n\n',
    encoding: 'utf8',
  });

  const again = await runHelper(['configure'], '', home.env, { cwd: home.dir });

  t.match(trace.stderr, /run_command: .*git-credential-broker\.cjs get/, 'git runs the broker');
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /^already configured/);
});

t.test('the first run also names a helper that runs after what it wrote', async (t) => {
  const home = await isolatedGitHome(t);
  // Set in the environment, which git reads after every config file.
  const withExtra = {
    ...home,
    env: {
      ...home.env,
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: 'store',
    },
  };

  const out = await configure(withExtra);

  t.match(out.lines.join('\n'), /helper = \(empty/);
  t.match(
    failureOf(out),
    /^the broker's entries for https:\/\/github\.com are written \(--global, .*\), but git still runs other helpers after the broker .*'store' \(command config/,
  );
});

t.test('a relative --socket is written as an absolute path, and the output says so', async (t) => {
  // Under the temporary directory: short, since a socket path has a length limit.
  const home = await isolatedGitHome(t);
  const socket = join(home.dir, 'own', 'd.sock');

  const out = await configureGit({
    scope: 'global',
    host: 'github.com',
    unset: false,
    socket: 'own/d.sock',
    env: home.env,
    cwd: home.dir,
  });
  const again = await configureGit({
    scope: 'global',
    host: 'github.com',
    unset: false,
    socket,
    env: home.env,
    cwd: home.dir,
  });

  t.equal(helpers(home).at(-1)?.split(' --socket ')[1], socket);
  t.match(out.lines.join('\n'), `--socket 'own/d.sock' is relative: written as '${socket}'`);
  t.match(again.lines.join('\n'), /^already configured/m, 'the same socket, given absolute');
});

t.test('configure names the file git wrote, wherever git keeps the global config', async (t) => {
  const explicit = await isolatedGitHome(t);
  const dir = explicit.dir;
  // No GIT_CONFIG_GLOBAL and no ~/.gitconfig, but an XDG file: git writes that.
  const xdgHome = await isolatedGitHome(t);
  mkdirSync(join(xdgHome.dir, '.config', 'git'), { recursive: true });
  writeFileSync(join(xdgHome.dir, '.config', 'git', 'config'), '');
  const xdg = { ...xdgHome, env: { ...xdgHome.env, GIT_CONFIG_GLOBAL: undefined } };

  const first = await configure(explicit);
  const again = await configure(explicit);
  const unset = await configure(explicit, true);
  const viaXdg = await configure(xdg);

  t.equal(first.lines[0], `wrote ${join(dir, '.gitconfig')} (--global):`);
  t.match(
    again.lines[0],
    `already configured: git runs the broker for https://github.com (--global, ${join(dir, '.gitconfig')})`,
  );
  t.match(unset.lines[0], `(--global, ${join(dir, '.gitconfig')})`);
  t.equal(viaXdg.lines[0], `wrote ${join(xdgHome.dir, '.config', 'git', 'config')} (--global):`);
  t.match(
    readFileSync(join(xdgHome.dir, '.config', 'git', 'config'), 'utf8'),
    /useHttpPath = true/,
  );
  t.notOk(existsSync(join(xdgHome.dir, '.gitconfig')));
});

t.test('--system is refused while GIT_CONFIG_NOSYSTEM keeps git from reading it', async (t) => {
  const home = await isolatedGitHome(t);
  // Where git would write --system, were it not refused: a file under /tmp,
  // never /etc/gitconfig (git writes that even with GIT_CONFIG_NOSYSTEM=1).
  const systemFile = join(home.dir, 'system-gitconfig');
  const env = { ...home.env, GIT_CONFIG_SYSTEM: systemFile };
  const system = { scope: 'system', host: 'github.com', unset: false, env, cwd: home.dir } as const;

  await t.rejects(configureGit(system), {
    code: 'CONFIG',
    message:
      /^GIT_CONFIG_NOSYSTEM is set, so git reads no system config .*; nothing was written: unset GIT_CONFIG_NOSYSTEM for this command, or use --global$/,
  });
  t.notOk(existsSync(systemFile), 'nothing was written');
});

/**
 * What git itself does when it asks its helpers for `input` in `cwd`: no
 * helper in these tests answers, and prompting is off, so git never waits.
 */
function gitFill(home: IsolatedGitHome, input: string, cwd = home.dir) {
  return spawnSync('git', ['credential', 'fill'], { env: home.env, cwd, input, encoding: 'utf8' });
}

t.test(
  'an entry without a value, at which git stops, is refused; nothing is written',
  async (t) => {
    for (const { text, request, named } of [
      {
        text: '[credential]\n\thelper\n',
        request: 'protocol=https\nhost=github.com\n\n',
        named: /'helper' without a value under \[credential\] \(global config, '.*\.gitconfig'\)/,
      },
      // The key configure writes: `git config --get-all` shows it as an empty entry.
      {
        text: '[credential "https://github.com"]\n\thelper\n',
        request: 'protocol=https\nhost=github.com\n\n',
        named: /'helper' without a value under \[credential "https:\/\/github\.com"\]/,
      },
      // Only requests under that path reach it; configure turns the path on.
      {
        text: '[credential "https://github.com/acme"]\n\thelper\n',
        request: 'protocol=https\nhost=github.com\npath=acme/widgets\n\n',
        named:
          /'helper' without a value under \[credential "https:\/\/github\.com\/acme"\] \(.*\), an entry for the repositories under its path only: git fails those requests there/,
      },
      {
        text: '[credential]\n\tuseHttpPath\n',
        request: 'protocol=https\nhost=github.com\n\n',
        named: /'usehttppath' without a value under \[credential\]/,
      },
    ]) {
      const home = await isolatedGitHome(t);
      writeFileSync(join(home.dir, '.gitconfig'), text);
      const git = gitFill(home, request);

      await t.rejects(
        configure(home),
        {
          code: 'CONFIG',
          message: named,
        },
        text,
      );
      t.equal(git.status, 128, `git itself stops: ${git.stderr}`);
      t.match(git.stderr, /missing value for 'credential\.(helper|usehttppath)'/);
      t.equal(readFileSync(join(home.dir, '.gitconfig'), 'utf8'), text, 'nothing was written');
    }
  },
);

t.test('the refusal says where the entry is, what git does with it, and the fix', async (t) => {
  const home = await isolatedGitHome(t);
  writeFileSync(join(home.dir, '.gitconfig'), '[credential]\n\thelper = cache\n\thelper\n');

  const refused = await configure(home).then(
    () => undefined,
    (error: Error) => error.message,
  );

  t.equal(
    refused,
    `git stops at 'helper' without a value under [credential] (global config, '${join(home.dir, '.gitconfig')}'): every credential request for https://github.com fails there ("missing value for 'credential.helper'") before any helper runs, the broker included; nothing was written: remove that line, or give it a value ('helper = NAME', or an empty 'helper =' that clears the helpers read before it), then run configure again`,
  );
});

t.test(
  'an entry without a value is named without the user name or password in its key',
  async (t) => {
    const home = await isolatedGitHome(t);
    writeFileSync(
      join(home.dir, '.gitconfig'),
      '[credential "https://me:hunter2-pw-7720@github.com"]\n\thelper\n',
    );

    const refused = await configure(home).then(
      () => '',
      (error: Error) => error.message,
    );

    t.match(
      refused,
      /'helper' without a value under \[credential "https:\/\/\.\.\.@github\.com"\]/,
    );
    t.notMatch(refused, /hunter2|me:/);
  },
);

/** A password no output may show, in every spelling of a key git applies to github.com. */
const URL_PASSWORD = 'Hunter2pw-4417';
const KEYS_WITH_USERINFO = [
  // No scheme, two slashes: git reads a path, `bob:...@github.com`, on any host.
  `//bob:${URL_PASSWORD}@github.com`,
  `/bob:${URL_PASSWORD}@github.com`,
  `//bob:${URL_PASSWORD}@github.com/acme`,
  `bob:${URL_PASSWORD}@github.com`,
  `https://bob:${URL_PASSWORD}@github.com/acme`,
  `HTTPS://bob:${URL_PASSWORD}@GitHub.com`,
];

t.test('no spelling of a user name and password in a key reaches any output', async (t) => {
  recordSecrets([URL_PASSWORD]);
  for (const key of KEYS_WITH_USERINFO) {
    const home = await isolatedGitHome(t);
    writeFileSync(join(home.dir, '.gitconfig'), `[credential "${key}"]\n\thelper\n`);

    const refused = await runHelper(['configure'], '', home.env, { cwd: home.dir });
    writeFileSync(join(home.dir, '.gitconfig'), `[credential "${key}"]\n\thelper = store\n`);
    await configure(home);
    append(home.dir, `[credential "${key}"]\n\thelper = cache\n\thelper =\n`);
    const failed = await runHelper(['configure'], '', home.env, { cwd: home.dir });

    const out = [refused, failed].map((run) => run.stdout + run.stderr).join('\n');
    const label = key.replace(URL_PASSWORD, 'PASSWORD');
    t.equal(refused.code, 1, label);
    t.match(
      refused.stderr,
      /without a value under \[credential "(?:[a-zA-Z]+:\/\/|\/*)\.\.\.@/,
      label,
    );
    t.equal(failed.code, 1, label);
    t.notMatch(out, new RegExp(`${URL_PASSWORD}|bob`), label);
  }
});

t.test(
  "an entry without a value in a repository's own config is refused by --local too",
  async (t) => {
    const home = await isolatedGitHome(t);
    const repo = join(home.dir, 'repo');
    spawnSync('git', ['init', '--quiet', repo], { env: home.env, cwd: home.dir });
    const localConfig = join(repo, '.git', 'config');
    writeFileSync(localConfig, `${readFileSync(localConfig, 'utf8')}[credential]\n\thelper\n`);
    const before = readFileSync(localConfig, 'utf8');

    const local = configureGit({
      scope: 'local',
      host: 'github.com',
      unset: false,
      env: home.env,
      cwd: repo,
    });

    await t.rejects(local, {
      code: 'CONFIG',
      message:
        /^git stops at 'helper' without a value under \[credential\] \(local config, '\.git\/config'\)/,
    });
    t.equal(readFileSync(localConfig, 'utf8'), before, 'nothing was written');
  },
);

t.test(
  'an entry without a value for another path or user of the host is refused, and says so',
  async (t) => {
    for (const { key, request, other, scope } of [
      {
        key: 'https://github.com/acme',
        request: 'path=acme/widgets',
        other: 'path=tools/x',
        scope: 'the repositories under its path',
      },
      {
        key: 'https://bob@github.com',
        request: 'username=bob\npath=acme/widgets',
        other: 'path=acme/widgets',
        scope: 'requests with its user name',
      },
      {
        key: 'https://bob@github.com/acme',
        request: 'username=bob\npath=acme/widgets',
        other: 'username=alice\npath=acme/widgets',
        scope: 'requests with its user name, under its path,',
      },
      {
        key: 'github.com/acme/widgets',
        request: 'path=acme/widgets',
        other: 'path=acme/widgets/more',
        scope: 'the one repository path it names',
      },
    ]) {
      const home = await isolatedGitHome(t);
      const file = join(home.dir, '.gitconfig');
      const text = `[credential "${key}"]\n\thelper\n`;
      writeFileSync(file, text);
      const stopped = gitFill(home, `protocol=https\nhost=github.com\n${request}\n\n`);
      const goesOn = gitFill(home, `protocol=https\nhost=github.com\n${other}\n\n`);

      const refused = await configure(home).then(
        () => '',
        (error: Error) => error.message,
      );

      t.equal(stopped.status, 128, `git stops for the request the key names: ${key}`);
      t.notMatch(goesOn.stderr, /missing value/, `and goes on with others: ${key}`);
      t.equal(
        refused,
        `git stops at 'helper' without a value under [credential "${key.replace('bob', '...')}"] (global config, '${file}'), an entry for ${scope} only: git fails those requests there ("missing value for 'credential.helper'") before any helper runs, the broker included, and goes on with https://github.com's others; nothing was written, since the broker would be set up for those requests too, and git would fail them: remove that line, or give it a value ('helper = NAME', or an empty 'helper =' that clears the helpers read before it), then run configure again`,
        key,
      );
      t.equal(readFileSync(file, 'utf8'), text, 'nothing was written');
    }
  },
);

t.test('an entry without a value for another host does not stop configure', async (t) => {
  const home = await isolatedGitHome(t);
  writeFileSync(join(home.dir, '.gitconfig'), '[credential "https://example.com"]\n\thelper\n');
  const git = gitFill(home, 'protocol=https\nhost=github.com\n\n');

  const out = (await configure(home)).lines.join('\n');

  t.notMatch(git.stderr, /missing value/, 'git itself does not stop at it for github.com');
  t.match(out, /^wrote .* \(--global\):/);
  t.equal(helpers(home).length, 2);
});

t.test('configure exits 1 for an entry without a value, and names it on stderr', async (t) => {
  const home = await isolatedGitHome(t);
  writeFileSync(join(home.dir, '.gitconfig'), '[credential]\n\thelper\n');

  const run = await runHelper(['configure'], '', home.env, { cwd: home.dir });

  t.equal(run.code, 1, run.stderr);
  t.equal(run.stdout, '');
  t.match(
    run.stderr,
    /^git-credential-broker: git stops at 'helper' without a value under \[credential\]/,
  );
  t.match(run.stderr, /nothing was written/);
});

t.test(
  'a storing helper git runs after the broker fails configure with exit 1, its entries written',
  async (t) => {
    const home = await isolatedGitHome(t);
    // A repository whose own config, read after the global one, stores credentials.
    const repo = join(home.dir, 'repo');
    spawnSync('git', ['init', '--quiet', repo], { env: home.env, cwd: home.dir });
    spawnSync('git', ['config', '--local', 'credential.helper', 'store'], {
      env: home.env,
      cwd: repo,
    });

    const run = await runHelper(['configure'], '', home.env, { cwd: repo });
    // What git does after a request that succeeded: `store` on every helper.
    const approve = spawnSync('git', ['credential', 'approve'], {
      env: home.env,
      cwd: repo,
      input:
        'protocol=https\nhost=github.com\nusername=x-access-token\npassword=stand-in-token\n\n',
      encoding: 'utf8',
    });

    t.equal(run.code, 1, run.stderr);
    t.match(run.stdout, /^wrote .*\.gitconfig \(--global\):\n.*helper = \(empty/);
    t.equal(helpers(home).length, 2, "the broker's entries are written");
    t.equal(
      withoutWarnings(run.stderr),
      `git-credential-broker: the broker's entries for https://github.com are written (--global, ${join(home.dir, '.gitconfig')}), but git still runs other helpers after the broker for https://github.com, and hands each of them every token the broker serves, to store ('store' after each request that succeeds): 'store' (local config, '.git/config'); remove them, limit them to other hosts, or have the broker's entries read after them (for a helper in the same file, 'configure --unset' then 'configure' writes them again at its end, where their empty 'helper =' entry clears every helper read before it); 'git config --show-origin --get-regexp credential.*helper' lists every helper in the order git reads them\n`,
    );
    t.equal(approve.status, 0, approve.stderr);
    t.match(
      readFileSync(join(home.dir, '.git-credentials'), 'utf8'),
      /stand-in-token/,
      "git handed the credential to 'store', which wrote it to disk",
    );
  },
);

t.test('a helper an includeIf pulls in for another directory is seen only there', async (t) => {
  const home = await isolatedGitHome(t);
  const work = join(home.dir, 'work');
  const repo = join(work, 'repo');
  spawnSync('git', ['init', '--quiet', repo], { env: home.env, cwd: home.dir });
  const included = join(home.dir, 'work.gitconfig');
  writeFileSync(included, '[credential "https://github.com"]\n\thelper = store\n');
  await configure(home);
  // After the broker's entries, so it runs after the broker where it applies.
  append(home.dir, `[includeIf "gitdir:${work}/"]\n\tpath = ${included}\n`);

  const elsewhere = await configure(home);
  const inside = await configureGit({
    scope: 'global',
    host: 'github.com',
    unset: false,
    env: home.env,
    cwd: repo,
  });

  t.match(elsewhere.lines[0], /^already configured/, 'git reads no such helper outside work/');
  t.equal(elsewhere.failure, undefined);
  t.match(failureOf(inside), /'store' \(global config, '.*work\.gitconfig'\)/);
});

t.test(
  'a helper for remotes that spell the host another way fails configure with exit 1',
  async (t) => {
    for (const key of ['GitHub.com', 'github.com:443', 'github.com:0443', 'github.com.']) {
      const home = await isolatedGitHome(t);
      await runHelper(['configure'], '', home.env, { cwd: home.dir });
      append(home.dir, `[credential "${key}"]\n\thelper = store\n`);

      const run = await runHelper(['configure'], '', home.env, { cwd: home.dir });

      t.equal(run.code, 1, key);
      t.match(
        withoutWarnings(run.stderr),
        /^git-credential-broker: the broker's entries for https:\/\/github\.com are in place \(.*; nothing changed\), but for some repositories or user names on https:\/\/github\.com, or remotes that spell its host another way, git also runs helpers after the broker, .*'store' \(global config, /,
        key,
      );
    }
  },
);

t.test(
  'an entry without a value for remotes that spell the host another way is named as such',
  async (t) => {
    const home = await isolatedGitHome(t);
    writeFileSync(join(home.dir, '.gitconfig'), '[credential "GitHub.com"]\n\thelper\n');

    const run = await runHelper(['configure'], '', home.env, { cwd: home.dir });
    const fill = gitFill(home, 'protocol=https\nhost=GitHub.com\n\n');

    t.equal(run.code, 1);
    t.match(
      run.stderr,
      /git stops at 'helper' without a value under \[credential "GitHub\.com"\] \(global config, '.*'\), an entry for remotes that spell the host as it does only: git fails those requests there/,
    );
    t.match(fill.stderr, /missing value/, 'as git does for a remote spelled so');
    t.same(helpers(home), [], 'nothing written');
  },
);
