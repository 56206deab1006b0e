/**
 * Which of a host's helper entries configure takes for the broker's, to
 * replace or remove, against a real git config: today's form, and the
 * forms older releases wrote.
 */
import t from 'tap';
import { isolatedGitHome } from '../fixtures/git.js';
import { configure, gitConfig, helpers } from '../fixtures/global-config.js';

const KEY = 'credential.https://github.com.helper';

/** What older releases of configure wrote, after their empty entry, for a broker installed at `root`. */
const OLDER_FORMS = (root: string) => [
  // Before the helper was bundled: the ES module build.
  `${root}/old/dist/helper/main.js`,
  `'${root}/my tools/dist/helper/main.js' --socket /tmp/x.sock`,
  // Before a spaced path was written as a `!` command.
  `'${root}/my tools/dist/helper/git-credential-broker.cjs'`,
  `'${root}/my tools/dist/helper/git-credential-broker.cjs' --socket '/tmp/a b.sock'`,
];

t.test(
  'configure replaces an entry an older configure wrote, instead of adding a second',
  async (t) => {
    for (const older of OLDER_FORMS('/opt')) {
      const home = await isolatedGitHome(t);
      gitConfig(home, '--add', KEY, 'cache');
      gitConfig(home, '--add', KEY, '');
      gitConfig(home, '--add', KEY, older);

      const result = await configure(home);
      const again = await configure(home);

      const [, reset, broker, ...more] = helpers(home);
      t.equal(helpers(home)[0], 'cache', `the user's helper stays: ${older}`);
      t.equal(reset, '', older);
      t.match(broker, /\/git-credential-broker\.cjs$/, older);
      t.same(more, [], `one pair of the broker's, not two: ${older}`);
      t.match(result.lines, [
        /^wrote /,
        /your .* entries \('cache'\) stay/,
        /^removed the broker's .* entry in a form an older configure wrote$/,
      ]);
      t.match(again.lines, [/^already configured/]);
    }
  },
);

t.test('--unset removes an entry an older configure wrote', async (t) => {
  for (const older of OLDER_FORMS('/opt')) {
    const home = await isolatedGitHome(t);
    gitConfig(home, '--add', KEY, 'cache');
    gitConfig(home, '--add', KEY, '');
    gitConfig(home, '--add', KEY, older);

    const result = await configure(home, true);

    t.same(helpers(home), ['cache'], older);
    t.match(result.lines, [/^removed the broker's /, /in effect again: 'cache'/]);
  }
});

t.test('an older form with a name that says little is left alone without its reset', async (t) => {
  const home = await isolatedGitHome(t);
  // Someone's own program that happens to live at dist/helper/main.js.
  gitConfig(home, '--add', KEY, '/opt/tool/dist/helper/main.js');

  const result = await configure(home, true);

  t.match(result.lines, [/^nothing to remove/]);
  t.same(helpers(home), ['/opt/tool/dist/helper/main.js']);
});
