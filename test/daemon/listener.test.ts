import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import type { CredentialService } from '../../daemon/credential-service.js';
import { closeListeners, startListeners } from '../../daemon/listener.js';
import { stubService } from '../fixtures/stub-service.js';

async function shortDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-ls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function service(t: Test): Promise<CredentialService> {
  return stubService(join(t.testdir(), 'audit.log'));
}

const mode = (path: string): number => statSync(path).mode & 0o777;

t.test('every listener socket gets a private directory and a 0600 socket', async (t) => {
  const dir = await shortDir(t);
  const main = join(dir, 'main', 'd.sock');
  const ci = join(dir, 'ci', 'd.sock');

  const running = await startListeners({
    defaultSocket: main,
    listeners: [{ socket: ci, policy: { name: ci, allow: ['acme/*'] } }],
    service: await service(t),
    log: pino({ level: 'silent' }),
    version: 'test',
  });
  t.teardown(() => closeListeners(running));

  t.same(
    running.map((l) => l.socket),
    [main, ci],
  );
  for (const socket of [main, ci]) {
    t.equal(mode(join(socket, '..')), 0o700, `${socket}: directory 0700`);
    t.equal(mode(socket), 0o600, `${socket}: socket 0600`);
  }
});

t.test('an unsafe listener directory stops the start and closes the others', async (t) => {
  const dir = await shortDir(t);
  const main = join(dir, 'main', 'd.sock');
  const open = join(dir, 'open');
  mkdirSync(open, { mode: 0o755 });

  await t.rejects(
    startListeners({
      defaultSocket: main,
      listeners: [{ socket: join(open, 'd.sock'), policy: { name: 'x' } }],
      service: await service(t),
      log: pino({ level: 'silent' }),
      version: 'test',
    }),
    {
      code: 'CONFIG',
      message: `socket directory '${open}' is accessible to other users (mode 755); put the socket in a directory of its own, for example "${join(open, 'git-credential-broker', 'd.sock')}" as listeners[0].socket in the config`,
    },
  );
  t.notOk(existsSync(main), 'the listener already started was closed');
});

t.test(
  'a start refused on a later socket leaves no directory it created behind, and keeps those it found',
  async (t) => {
    const dir = await shortDir(t);
    const made = join(dir, 't8', 'op2');
    const main = join(made, 'd.sock');
    const found = join(dir, 'found');
    mkdirSync(found, { mode: 0o700 });
    const mine = join(found, 'mine', 'd.sock');
    const held = join(found, 'held.sock');
    // Another daemon (a live process) holds the last listener's lock.
    mkdirSync(`${held}.lock`);
    writeFileSync(join(`${held}.lock`, `owner-${process.ppid}-0123456789abcdef`), '');

    const start = startListeners({
      defaultSocket: main,
      listeners: [
        { socket: mine, policy: { name: mine, allow: ['acme/*'] } },
        { socket: held, policy: { name: held, allow: ['acme/*'] } },
      ],
      service: await service(t),
      log: pino({ level: 'silent' }),
      version: 'test',
    });

    await t.rejects(start, { code: 'CONFIG', message: /holds '.*held\.sock'/ });
    t.notOk(existsSync(join(dir, 't8')), 'the directories made for the default socket are gone');
    t.notOk(existsSync(join(found, 'mine')), "a listener's directory it made is gone");
    t.ok(existsSync(found), 'a directory it found stays');
    t.ok(existsSync(`${held}.lock`), "the other daemon's lock stays");
  },
);
