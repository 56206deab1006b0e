/**
 * A relative --socket is made absolute against the cwd before the daemon
 * uses it, as configure does: status from another directory named it
 * './rel/d.sock', a path that leads elsewhere from there (found in a
 * new-user trial).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runHelper } from '../fixtures/run-helper.js';

t.test(
  'daemon --detach --socket rel/d.sock listens on, and is named by, the absolute path',
  { timeout: 60_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'gcb-rs-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const work = join(dir, 'work');
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(work);
    mkdirSync(elsewhere);
    const config = join(dir, 'broker.json');
    writeFileSync(
      config,
      JSON.stringify({
        auditLog: join(dir, 'audit.log'),
        integrations: [{ provider: 'command', host: 'git.example.test', command: ['/bin/true'] }],
      }),
    );
    const env = { PATH: process.env.PATH, HOME: dir, XDG_STATE_HOME: join(dir, 'state') };
    const socket = join(work, 'rel', 'd.sock');

    const started = await runHelper(
      ['daemon', '--detach', '--config', config, '--socket', 'rel/d.sock'],
      '',
      env,
      { cwd: work },
    );
    t.teardown(() => runHelper(['stop', '--socket', socket], '', env));
    const status = await runHelper(['status', '--json', '--socket', socket], '', env, {
      cwd: elsewhere,
    });

    t.equal(started.code, 0, started.stderr);
    t.match(started.stdout, `on ${socket};`);
    t.equal(status.code, 0, status.stderr);
    const shown = JSON.parse(status.stdout) as { socket: string; listeners: { socket: string }[] };
    t.equal(shown.socket, socket, 'status names the absolute path');
    t.equal(shown.listeners[0]?.socket, socket);
  },
);
