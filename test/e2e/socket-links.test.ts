/**
 * A socket path through a symbolic link another user owns, tried on the
 * real daemon: that user could point the link elsewhere after the start
 * and put a socket of their own where git's helper connects (found in
 * review: nobody's link in /tmp to root's directory passed every directory
 * check, and once re-pointed, root's helper sent nobody its request).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { asNobody, NOBODY, skipUnlessRoot } from '../fixtures/as-nobody.js';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { runHelper } from '../fixtures/run-helper.js';

const INTEGRATIONS = [{ provider: 'command', host: 'git.example.test', command: ['/bin/true'] }];

t.test(
  "a socket path through another user's symbolic link is refused, private or open to a group, directly or behind a link of one's own; the path it resolves to works",
  { skip: skipUnlessRoot, timeout: 90_000 },
  async (t) => {
    // Under /tmp (a socket path must stay short), passable by nobody.
    const dir = await mkdtemp(join(tmpdir(), 'gcb-sl-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o711);
    // `shared` is as /tmp is: anyone may add an entry, only its owner move it.
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const mine = join(dir, 'mine');
    mkdirSync(mine, { mode: 0o700 });
    const theirs = join(shared, 'theirs');
    const made = await asNobody(['ln', '-s', mine, theirs], '');
    t.equal(made.code, 0, made.stderr);
    // Root's own link, which leads through nobody's.
    const ownLink = join(shared, 'own');
    symlinkSync(theirs, ownLink);
    const env = { PATH: process.env.PATH, HOME: dir, XDG_STATE_HOME: join(dir, 'state') };
    const configWith = (name: string, listeners: unknown[]): string => {
      const path = join(dir, `${name}.json`);
      writeFileSync(
        path,
        JSON.stringify({ integrations: INTEGRATIONS, auditLog: join(dir, 'audit.log'), listeners }),
      );
      return path;
    };
    const plain = configWith('plain', []);
    const refusal = (link: string, socket: string, resolved: string): string =>
      `socket path '${socket}' passes through symbolic link '${link}', which belongs to uid ${NOBODY}: that user could point it elsewhere and put another socket where git's helper connects; use the path it resolves to, '${resolved}', or a link that only root or this user (uid 0) own`;
    const cases = [
      {
        name: '--socket through the link',
        args: ['--config', plain, '--socket', join(theirs, 'd.sock')],
        expect: refusal(theirs, join(theirs, 'd.sock'), join(mine, 'd.sock')),
      },
      {
        name: 'a private listener through the link',
        args: [
          '--config',
          configWith('private', [{ socket: join(theirs, 'ci', 'd.sock'), allow: ['acme/*'] }]),
          '--socket',
          join(mine, 'run', 'd.sock'),
        ],
        expect: refusal(theirs, join(theirs, 'ci', 'd.sock'), join(mine, 'ci', 'd.sock')),
      },
      {
        name: 'a group listener through the link',
        args: [
          '--config',
          configWith('group', [{ socket: join(theirs, 'g', 'd.sock'), group: 'nogroup' }]),
          '--socket',
          join(mine, 'run', 'd.sock'),
        ],
        expect: refusal(theirs, join(theirs, 'g', 'd.sock'), join(mine, 'g', 'd.sock')),
      },
      {
        name: "root's own link that leads through nobody's",
        args: ['--config', plain, '--socket', join(ownLink, 'd.sock')],
        expect: refusal(theirs, join(ownLink, 'd.sock'), join(mine, 'd.sock')),
      },
    ];

    for (const { name, args, expect } of cases) {
      const run = await runHelper(['daemon', ...args], '', env);

      t.equal(run.code, 1, `${name}: ${run.stderr}`);
      t.match(run.stderr, expect, name);
      t.same(readdirSync(mine), [], `${name}: nothing is made where the link leads`);
    }

    mkdirSync(join(dir, 'served'));
    const daemon = await startDaemonProcess(
      join(dir, 'served'),
      { integrations: INTEGRATIONS },
      env,
      { socketPath: join(mine, 'd.sock') },
    );
    t.teardown(() => daemon.stop());
    t.ok(existsSync(join(mine, 'd.sock')), 'the path it resolves to is served');
  },
);
