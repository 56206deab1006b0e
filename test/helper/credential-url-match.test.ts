/**
 * The credential URL matcher against git itself: for each pattern, a
 * harmless helper (`!true pN`) is configured, and `git credential fill`
 * (traced) shows for which requests git runs it.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { matchCredentialUrl } from '../../helper/commands/credential-url-match.js';
import { isolatedGitHome } from '../fixtures/git.js';

const PATTERNS = [
  'https://github.com',
  'https://github.com/',
  'https://GitHub.com/',
  'HTTPS://github.com',
  'https://github.com:443',
  'https://github.com:0443',
  'https://github.com:',
  'https://github.com.',
  'https://*.com',
  'https://*.github.com',
  'https://*',
  'https://github.com/acme',
  'https://github.com/acme/',
  'https://github.com/./',
  'https://github.com/acme/..',
  'https://github.com//',
  'https://me@github.com',
  'https://me:pw@github.com',
  'http://github.com',
  'https://github.com:8443',
  'https://example.com',
  'https://github.com.example.com',
  'github.com',
  'GitHub.com',
  'https://',
  'https',
  '/acme',
  'github.com/acme',
  'me@github.com',
  'https://github.com:99999',
  'https://github.com/%zz',
  'https://gith%75b.com',
  'https://github.com?x',
  'https://github.com#f',
  'https://[::1]',
];

const REQUESTS = [
  'https://github.com/acme/widgets.git',
  'https://github.com/other/tools',
  'https://me@github.com/acme/widgets.git',
];

t.test('says a pattern applies to every request for a host exactly when git does', async (t) => {
  // Outside this repository: git run in tap's testdir would read its config.
  const { dir, env: isolated } = await isolatedGitHome(t);
  const env = { ...isolated, GIT_TRACE: '1' };
  PATTERNS.forEach((pattern, i) => {
    const set = spawnSync(
      'git',
      ['config', '--global', '--add', `credential.${pattern}.helper`, `!true p${i}`],
      { env, encoding: 'utf8' },
    );
    t.equal(set.status, 0, set.stderr);
  });

  const ranFor = REQUESTS.map((url) => {
    const fill = spawnSync('git', ['credential', 'fill'], {
      env,
      cwd: dir,
      input: `url=${url}\n\n`,
      encoding: 'utf8',
    });
    return new Set([...fill.stderr.matchAll(/run_command: 'true p(\d+) get'/g)].map((m) => m[1]));
  });

  PATTERNS.forEach((pattern, i) => {
    const runs = ranFor.filter((ran) => ran.has(String(i))).length;
    const match = matchCredentialUrl(pattern, { protocol: 'https', host: 'github.com' });
    const git = runs === REQUESTS.length ? 'all' : runs === 0 ? 'none' : 'some';
    // `some` may also be a user name none of these requests carries.
    t.equal(match === 'some' && git === 'none' ? 'none' : match, git, pattern);
  });
});
