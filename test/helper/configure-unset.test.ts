/**
 * `configure --unset` with entries without a value (`helper`, no `=`),
 * which git refuses ("missing value", exit 128) before it runs any helper,
 * and which `git config --unset-all KEY '^$'` does not match: against a real
 * git, in an isolated config.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { helperCommand } from '../../helper/commands/broker-command.js';
import { isolatedGitHome, type IsolatedGitHome } from '../fixtures/git.js';
import { configure, helpers } from '../fixtures/global-config.js';
import { runHelper } from '../fixtures/run-helper.js';

const SECTION = '[credential "https://github.com"]\n';
/** The broker's entry as configure writes it here. */
const BROKER = `\thelper = ${helperCommand(undefined)}\n\tuseHttpPath = true\n`;

const unset = (home: IsolatedGitHome) => configure(home, true);

/** git credential fill for github.com: no helper answers here, and prompting is off. */
function fill(home: IsolatedGitHome) {
  return spawnSync('git', ['credential', 'fill'], {
    env: home.env,
    cwd: home.dir,
    input: 'protocol=https\nhost=github.com\npath=acme/widgets\n\n',
    encoding: 'utf8',
  });
}

t.test('a reset without a value before the broker is removed with it', async (t) => {
  const home = await isolatedGitHome(t);
  // The broker's `helper =` reset, its `=` lost in an edit.
  writeFileSync(join(home.dir, '.gitconfig'), `${SECTION}\thelper = cache\n\thelper\n${BROKER}`);
  const before = fill(home);

  const result = await unset(home);
  const after = fill(home);

  t.equal(before.status, 128, 'git stopped at it');
  t.same(helpers(home), ['cache'], "only the user's helper is left");
  t.match(result.lines, [
    /^removed the broker's .* entries and .*useHttpPath/,
    /^the broker's reset entry had no value \('helper' with no '='\), which git refuses: removed with the rest$/,
    /^your .* entries are in effect again: 'cache'$/,
  ]);
  t.same(result.warnings, []);
  t.notMatch(after.stderr, /missing value/, 'git runs the helpers again');
});

t.test(
  "one of the user's without a value is left, and --unset says where it is and what to do",
  async (t) => {
    const home = await isolatedGitHome(t);
    const file = join(home.dir, '.gitconfig');
    // The first is the user's (no broker after it); git config removes them only all at once.
    writeFileSync(file, `${SECTION}\thelper\n\thelper = cache\n\thelper\n${BROKER}`);

    const result = await unset(home);
    const run = await runHelper(['configure', '--unset'], '', home.env, { cwd: home.dir });

    t.same(helpers(home), ['', 'cache', ''], "the broker's command is gone, both lines stay");
    t.match(result.lines, [
      /^removed the broker's /,
      /^left the .* entries without a value: one stands where the broker's reset was, but another is yours, and git config can remove them only all at once$/,
    ]);
    t.notMatch(result.lines.join('\n'), /in effect again/, 'git runs none of them yet');
    t.same(result.warnings, [
      `git stops at 'helper' without a value under [credential "https://github.com"] (global config, '${file}'), 'helper' without a value under [credential "https://github.com"] (global config, '${file}'): every credential request for https://github.com fails there ("missing value for 'credential.helper'") before any helper runs; remove those lines, or give each a value ('helper = NAME', or an empty 'helper =' that clears the helpers read before it)`,
    ]);
    t.equal(run.code, 0, 'a warning: the broker is gone, as asked');
    t.match(run.stdout, /^nothing to remove/);
    t.match(run.stderr, /^git-credential-broker: warning: git stops at 'helper' without a value/);
    t.equal(fill(home).status, 128, 'git stops there, as the warning says');
  },
);

t.test('an entry without a value elsewhere is named after the broker is removed', async (t) => {
  const home = await isolatedGitHome(t);
  const text = `[credential]\n\thelper\n${SECTION}\thelper =\n${BROKER}`;
  writeFileSync(join(home.dir, '.gitconfig'), text);

  const result = await unset(home);

  t.equal(helpers(home).length, 0, "the broker's entries are gone");
  t.match(readFileSync(join(home.dir, '.gitconfig'), 'utf8'), /\[credential\]\n\thelper\n/);
  t.match(result.warnings, [
    /^git stops at 'helper' without a value under \[credential\] \(global config, '.*'\): every credential request for https:\/\/github\.com fails there .* before any helper runs; remove that line, or give it a value/,
  ]);
  t.notMatch(result.warnings.join('\n'), /the broker included/);
});
