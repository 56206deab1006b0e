/**
 * The helper chain configure works out, against git itself: stand-in
 * helpers (shell scripts under the test's own directory, one named like the
 * broker) write down each run, and `git credential fill` shows which git
 * runs, in what order, and whether the broker gets a path.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { chainProblems } from '../../helper/commands/chain-problems.js';
import { helperChain, parseConfigEntries } from '../../helper/commands/helper-chain.js';
import { isolatedGitHome } from '../fixtures/git.js';

const ACME = 'protocol=https\nhost=github.com\npath=acme/widgets.git\n\n';
const OTHER = 'protocol=https\nhost=github.com\npath=other/tools.git\n\n';
const BOB = 'protocol=https\nhost=github.com\nusername=bob\npath=other/tools.git\n\n';

/**
 * Config read after the broker's entries (given the broker and another
 * helper by absolute path), and a request it names besides the usual ones.
 */
const CASES: {
  name: string;
  config: (broker: string, other: string) => string;
  request?: string;
  /** Config read before the broker's entries. */
  before?: string;
}[] = [
  { name: 'the broker alone', config: () => '' },
  {
    name: 'a reset for one owner, read after the broker',
    config: () => '[credential "https://github.com/acme"]\n\thelper =\n',
  },
  {
    name: 'useHttpPath off for one owner, read after the broker',
    config: () => '[credential "https://github.com/acme"]\n\tuseHttpPath = false\n',
  },
  {
    name: 'useHttpPath off for one owner, then on for every repository',
    config: () =>
      '[credential "https://github.com/acme"]\n\tuseHttpPath = false\n' +
      '[credential "https://github.com"]\n\tuseHttpPath = true\n',
  },
  {
    name: 'a reset and useHttpPath off for one owner, read before the broker',
    config: () => '',
    before: '[credential "https://github.com/acme"]\n\thelper =\n\tuseHttpPath = false\n',
  },
  {
    name: 'a reset for one owner, then the broker again for it',
    config: (broker) =>
      `[credential "https://github.com/acme"]\n\thelper =\n\thelper = ${broker}\n`,
  },
  {
    name: 'a reset for one owner, then another helper for it',
    config: (_, other) =>
      `[credential "https://github.com/acme"]\n\thelper =\n\thelper = ${other}\n`,
  },
  {
    name: 'a helper for one owner, read after the broker',
    config: (_, other) => `[credential "https://github.com/acme/"]\n\thelper = ${other}\n`,
  },
  {
    name: 'a helper for one user name, read after the broker',
    config: (_, other) => `[credential "https://bob@github.com"]\n\thelper = ${other}\n`,
  },
  {
    name: 'a reset for one exact path, in a partial URL',
    config: () => '[credential "/acme/widgets.git"]\n\thelper =\n',
  },
  {
    // Two slashes, no scheme: to git, the one path `bob:pw@github.com`.
    name: 'a reset for the path a user name and host spell',
    config: () => '[credential "//bob:pw@github.com"]\n\thelper =\n',
    request: 'protocol=https\nhost=github.com\npath=bob:pw@github.com\n\n',
  },
  {
    // Git keeps `%2F` escaped, and never sends a path with one: no request matches.
    name: 'a reset under an escaped slash, which no request matches',
    config: () => '[credential "https://github.com/acme%2Fwidgets.git"]\n\thelper =\n',
    request: 'protocol=https\nhost=github.com\npath=acme/widgets.git\n\n',
  },
  {
    // Git sends the path `acme:x` escaped, as `acme%3Ax`: this key matches it.
    name: 'a reset under an escaped colon, for the path that holds one',
    config: () => '[credential "https://github.com/acme%3Ax"]\n\thelper =\n',
    request: 'protocol=https\nhost=github.com\npath=acme:x\n\n',
  },
  {
    name: 'a reset under a literal colon, which no request matches',
    config: () => '[credential "https://github.com/acme:x"]\n\thelper =\n',
    request: 'protocol=https\nhost=github.com\npath=acme:x\n\n',
  },
  {
    name: 'a helper for an escaped user name, read after the broker',
    config: (_, other) => `[credential "https://bob%40acme@github.com"]\n\thelper = ${other}\n`,
    request: 'protocol=https\nhost=github.com\nusername=bob@acme\npath=acme/widgets.git\n\n',
  },
  // No scheme: git compares the host as the remote URL spells it, and the
  // broker's https://github.com matches those remotes too.
  ...(['GitHub.com', 'github.com:443', 'github.com:0443', 'github.com.'] as const).map((key) => ({
    name: `a helper for remotes spelled ${key}, read after the broker`,
    config: (_: string, other: string) => `[credential "${key}"]\n\thelper = ${other}\n`,
    request: `protocol=https\nhost=${key}\npath=acme/widgets.git\n\n`,
  })),
  {
    name: 'a reset for remotes spelled GitHub.com, read after the broker',
    config: () => '[credential "GitHub.com"]\n\thelper =\n',
    request: 'protocol=https\nhost=GitHub.com\npath=acme/widgets.git\n\n',
  },
  {
    name: 'a helper for another port, without a scheme, which the broker does not serve',
    config: (_, other) => `[credential "github.com:8443"]\n\thelper = ${other}\n`,
  },
  {
    name: 'a helper under a key with a query, which no request matches',
    config: (_, other) => `[credential "https://github.com?x"]\n\thelper = ${other}\n`,
  },
];

t.test('names a problem for a host exactly when git does not run the broker alone', async (t) => {
  const { dir, env } = await isolatedGitHome(t);
  const log = join(dir, 'runs.log');
  const script = (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\necho "${name} $1 path=$(sed -n 's/^path=//p')" >> '${log}'\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const broker = script('git-credential-broker');
  const other = script('other');
  const base = `[credential "https://github.com"]\n\thelper =\n\thelper = ${broker}\n\tuseHttpPath = true\n`;

  for (const { name, config, request, before } of CASES) {
    writeFileSync(join(dir, '.gitconfig'), (before ?? '') + base + config(broker, other));
    /** What git runs for one request: `NAME get path=...` lines. */
    const runs = (input: string): string[] => {
      rmSync(log, { force: true });
      spawnSync('git', ['credential', 'fill'], { env, cwd: dir, input });
      return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
    };
    const listed = spawnSync(
      'git',
      ['config', '-z', '--show-origin', '--show-scope', '--get-regexp', '^credential\\.'],
      { env, cwd: dir, encoding: 'utf8' },
    ).stdout;

    const chain = helperChain(
      parseConfigEntries(listed),
      { protocol: 'https', host: 'github.com' },
      (value) => value === broker,
    );
    const problems = chainProblems(chain, 'https://github.com');
    const gitRunsBrokerAlone = [ACME, OTHER, BOB, request ?? ACME].every((input) => {
      const ran = runs(input);
      return ran.length === 1 && /^git-credential-broker get path=.+/.test(ran[0]!);
    });

    t.equal(problems.length === 0, gitRunsBrokerAlone, `${name}: ${problems.join('; ')}`);
  }
});
