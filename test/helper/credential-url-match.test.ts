/**
 * The credential URL matcher against git itself: for each pattern, a
 * harmless helper (`!true pN`) is configured, and `git credential fill`
 * (traced) shows for which requests git runs it: a few ordinary ones, and
 * for a pattern that applies to some requests only, the one it names.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import {
  matchCredentialUrl,
  requestNamedBy,
  type CredentialRequest,
} from '../../helper/commands/credential-url-match.js';
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
  // No scheme: git compares the host as the remote URL spells it, so these
  // apply to remotes written that way, as the broker's normalized key does.
  'GitHub.com',
  'github.com:443',
  'github.com:0443',
  'github.com.',
  'github.com:',
  'GitHub.com/acme',
  'me@GITHUB.com',
  'github.com:8443',
  'github.com:80',
  'github.com..',
  'gitHub.com.example.com',
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
  // No scheme, two slashes: a path to git (`bob:pw@github.com`), on any host.
  '//bob:pw@github.com',
  '/bob:pw@github.com',
  'bob:pw@github.com',
  'https:///acme',
  'https://@github.com',
  'https://github.com/acme/widgets.git',
  'github.com/acme/widgets.git',
  // Escapes: git keeps a delimiter escaped (it names a path git sends
  // escaped, or none: `%2F`), decodes an unreserved character, escapes an
  // unsafe one, and compares what is left, case and all.
  'https://github.com/acme%2Fwidgets.git',
  'https://github.com/acme%2fwidgets.git',
  'https://github.com/ac%6De',
  'https://github.com/%61cme/widgets.git',
  'https://github.com/acme/%2e%2e',
  'https://github.com/acme%3Ax',
  'https://github.com/acme%3ax',
  'https://github.com/acme:x',
  'https://github.com/a%40b',
  'https://github.com/a@b',
  'https://github.com/acme%3Fx',
  'https://github.com/acme%23x',
  'https://github.com/acme%21',
  'https://github.com/acme!',
  'https://github.com/acme%20x',
  'https://github.com/acme x',
  'https://github.com/acme%25x',
  'https://github.com/%7Eme',
  'https://github.com/~me',
  'https://github.com/caf%C3%A9',
  'https://github.com/café',
  'https://github.com/%FF',
  'https://me%40x@github.com',
  'https://m%65@github.com',
  'https://me%21@github.com',
  'https://me!@github.com',
  'https://me%2Fx@github.com',
  'https://me%3Apw@github.com',
  // A partial URL decodes every escape, and so does git.
  'github.com/acme%2Fwidgets.git',
  '/acme%3Ax',
  'github.com/%FF',
];

const REQUESTS = [
  'https://github.com/acme/widgets.git',
  'https://github.com/other/tools',
  'https://me@github.com/acme/widgets.git',
  'https://github.com',
  // Paths and a user name that hold what some keys spell literally.
  'https://github.com/acme:x',
  'https://github.com/a@b',
  'https://github.com/acme!',
  'https://me%40x@github.com/acme/widgets.git',
];

const CONTEXT = { protocol: 'https', host: 'github.com' };

/** A request as `git credential fill` reads it. */
function requestLines(request: CredentialRequest): string {
  const lines = [`protocol=${request.protocol}`, `host=${request.host}`];
  if (request.username !== undefined) lines.push(`username=${request.username}`);
  if (request.path !== undefined) lines.push(`path=${request.path}`);
  return `${lines.join('\n')}\n\n`;
}

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
  /** The patterns whose helper git runs for a request. */
  const ranFor = (input: string) => {
    const fill = spawnSync('git', ['credential', 'fill'], {
      env,
      cwd: dir,
      input,
      encoding: 'utf8',
    });
    return new Set([...fill.stderr.matchAll(/run_command: 'true p(\d+) get'/g)].map((m) => m[1]));
  };
  const ordinary = REQUESTS.map((url) => ranFor(`url=${url}\n\n`));

  PATTERNS.forEach((pattern, i) => {
    const runs = ordinary.filter((ran) => ran.has(String(i))).length;
    const named = ranFor(requestLines(requestNamedBy(pattern, CONTEXT))).has(String(i));
    const match = matchCredentialUrl(pattern, CONTEXT);
    const git = runs === REQUESTS.length ? 'all' : named ? 'some' : 'none';
    t.equal(match, git, pattern);
    if (git === 'none') t.equal(runs, 0, `${pattern}: no ordinary request either`);
  });
});
