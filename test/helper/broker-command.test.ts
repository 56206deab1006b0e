/**
 * The broker's helper value against git itself: stand-in binaries named
 * like the broker (shell scripts under the test's own directory, one in a
 * directory with a space) write down how git ran them.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  brokerEntries,
  helperCommand,
  isBrokerCommand,
} from '../../helper/commands/broker-command.js';
import { isolatedGitHome, type IsolatedGitHome } from '../fixtures/git.js';
import { configure, gitConfig, helpers } from '../fixtures/global-config.js';

const KEY = 'credential.https://github.com.helper';
const REQUEST = 'protocol=https\nhost=github.com\npath=acme/widgets.git\n\n';

/** A stand-in broker at `dir/sub/name` that logs `its path|its arguments`. */
function standIn(home: IsolatedGitHome, sub: string, name: string): string {
  mkdirSync(join(home.dir, sub), { recursive: true });
  const path = join(home.dir, sub, name);
  writeFileSync(path, `#!/bin/sh\necho "$0|$*" >> '${join(home.dir, 'runs.log')}'\n`);
  chmodSync(path, 0o755);
  return path;
}

/** What git runs for `helper` alone: `path|arguments` lines. */
function runsOf(home: IsolatedGitHome, helper: string, path?: string): string[] {
  const log = join(home.dir, 'runs.log');
  rmSync(log, { force: true });
  const git = (...args: string[]) =>
    spawnSync('git', ['config', '--global', ...args], { env: home.env, cwd: home.dir });
  git('--remove-section', 'credential.https://github.com');
  git('--add', 'credential.https://github.com.helper', '');
  git('--add', 'credential.https://github.com.helper', helper);
  const env = path === undefined ? home.env : { ...home.env, PATH: `${path}:${home.env.PATH}` };
  spawnSync('git', ['credential', 'fill'], { env, cwd: home.dir, input: REQUEST });
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
}

t.test('git runs the command configure writes, a space in its path or not', async (t) => {
  const home = await isolatedGitHome(t);
  const plain = standIn(home, 'bin', 'git-credential-broker.cjs');
  const spaced = standIn(home, 'my tools', 'git-credential-broker.cjs');
  const socket = join(home.dir, 'run dir', 'd.sock');

  for (const [binary, socketArg] of [
    [plain, undefined],
    [plain, socket],
    [spaced, undefined],
    [spaced, socket],
  ] as const) {
    const command = helperCommand(socketArg, binary);

    const runs = runsOf(home, command);

    const args = socketArg === undefined ? 'get' : `--socket ${socketArg} get`;
    t.same(runs, [`${binary}|${args}`], command);
    t.ok(isBrokerCommand(command), `taken for the broker: ${command}`);
  }
  t.equal(helperCommand(undefined, spaced), `!'${spaced}'`);
  t.equal(helperCommand(undefined, plain), plain, 'a plain path as it is');
});

t.test('takes for the broker exactly the values git runs as one', async (t) => {
  const home = await isolatedGitHome(t);
  const broker = standIn(home, 'bin', 'git-credential-broker');
  const spaced = standIn(home, 'my tools', 'git-credential-broker.cjs');
  const escaped = spaced.replace(/ /g, '\\ ');

  for (const value of [
    broker,
    `${broker} --socket /tmp/x.sock`,
    `${broker} --socket=/tmp/x.sock`,
    `${broker}  --socket '/tmp/a b.sock'`,
    `!'${spaced}' --socket '/tmp/a b.sock'`,
    `! '${spaced}'`,
    `!"${spaced}" --socket "/tmp/a b.sock"`,
    `!${broker}`,
    escaped,
    // Git runs `git credential-'/...'`: no such command.
    `'${broker}'`,
    `'${spaced}'`,
    `"${spaced}"`,
    // The shell splits the path at its space.
    spaced,
    `!${spaced}`,
    // `git credential-./bin/...`, `git credential-git-credential-broker`.
    './bin/git-credential-broker',
    'git-credential-broker',
    // The broker, but not as git runs it: it refuses other arguments.
    `${broker} --verbose`,
    `${broker} get`,
  ]) {
    const runs = runsOf(home, value);

    const gitRunsBroker = runs.length === 1 && /^\/.*\|(?:--socket[= ].+ )?get$/.test(runs[0]!);
    t.equal(isBrokerCommand(value), gitRunsBroker, value);
  }
});

t.test('a broker git finds on PATH is not taken for the broker', async (t) => {
  const home = await isolatedGitHome(t);
  const bin = join(home.dir, 'bin');
  const broker = standIn(home, 'bin', 'git-credential-broker');

  for (const value of ['broker', 'broker --socket /tmp/x.sock', '!git-credential-broker']) {
    // Git runs it only where PATH holds it, and then whatever PATH holds.
    t.same(runsOf(home, value), [], `${value}: without it on PATH`);
    t.match(runsOf(home, value, bin), [new RegExp(`^${broker}\\|`)], `${value}: with it on PATH`);
    t.notOk(isBrokerCommand(value), value);
  }
  t.notOk(isBrokerCommand(`!${broker}; true`), 'nor a command that runs more than the broker');
});

/** Indexes in order. */
function sorted(indexes: Set<number>): number[] {
  return [...indexes].sort((a, b) => a - b);
}

t.test(
  "takes the forms older releases wrote for the broker's, to remove, not to run",
  async (t) => {
    const home = await isolatedGitHome(t);
    const spaced = standIn(home, 'my tools', 'git-credential-broker.cjs');
    const oldMain = standIn(home, 'old/dist/helper', 'main.js');
    const spacedMain = standIn(home, 'my tools/dist/helper', 'main.js');

    for (const value of [
      // configure before the `!` form: git runs `git credential-'/my tools/…'`.
      `'${spaced}'`,
      `'${spaced}' --socket '/tmp/a b.sock'`,
      // `helper = "/my tools/…cjs"` in a file: git drops the quotes, the shell splits it.
      spaced,
      `${spaced} --socket /tmp/x.sock`,
      `"${spaced}"`,
    ]) {
      const runs = runsOf(home, value);

      t.same(runs, [], `git does not run it: ${value}`);
      t.notOk(isBrokerCommand(value), `not the broker git runs: ${value}`);
      t.same(sorted(brokerEntries(['', value])), [0, 1], `the broker's, with its reset: ${value}`);
      t.same(sorted(brokerEntries([value])), [0], `the broker's, alone: ${value}`);
    }

    // configure before the bundle: git runs it, but the name says little.
    for (const value of [oldMain, `${oldMain} --socket /tmp/x.sock`]) {
      t.match(runsOf(home, value), [new RegExp(`^${oldMain}\\|`)], value);
      t.same(sorted(brokerEntries(['', value])), [0, 1], `the pair configure wrote: ${value}`);
      t.same(sorted(brokerEntries(['cache', value])), [], `alone, someone's own: ${value}`);
    }
    // Quoted, as configure quoted a spaced path before the `!` form.
    t.same(runsOf(home, `'${spacedMain}'`), [], 'git does not run a quoted main.js');
    t.same(sorted(brokerEntries(['', `'${spacedMain}'`])), [0, 1], 'in the pair');
    t.same(sorted(brokerEntries([`'${spacedMain}'`])), [], 'alone');
    t.same(
      sorted(brokerEntries([`${oldMain} --verbose`, `'${spaced}' get`])),
      [],
      'other arguments',
    );
  },
);

t.test(
  "a helper of the user's that ends with a path to the broker stays theirs, through configure and --unset",
  async (t) => {
    const home = await isolatedGitHome(t);
    const broker = standIn(home, 'bin', 'git-credential-broker');
    const theirs = [
      `/usr/local/bin/audit-wrap --log /tmp/x ${broker}`,
      `/usr/bin/env FOO=1 ${broker}`,
      `/usr/bin/sudo -u x ${broker}`,
      'sudo -u x /opt/bin/git-credential-broker',
      `/usr/bin/env ${broker} --socket /tmp/x.sock`,
      // A relative path after the program: the first word is a file git runs.
      '/usr/bin/nice bin/git-credential-broker',
    ];

    t.match(runsOf(home, theirs[1]!), [new RegExp(`^${broker}\\|get$`)], 'git runs env, then it');
    for (const value of theirs) {
      t.same(sorted(brokerEntries(['', value])), [], `not the broker's: ${value}`);
    }
    gitConfig(home, '--remove-section', 'credential.https://github.com');
    for (const value of theirs) gitConfig(home, '--add', KEY, value);
    await configure(home);
    const configured = helpers(home);
    await configure(home, true);

    t.same(configured.slice(0, theirs.length), theirs, 'configure leaves them, in order');
    t.equal(configured.length, theirs.length + 2, 'and adds its reset and command after them');
    t.same(helpers(home), theirs, '--unset takes back only its own');
  },
);
