import { existsSync, mkdirSync, statSync } from 'node:fs';
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
      message: `socket directory '${open}' is accessible to other users (mode 755); put the socket in a directory of its own, for example --socket '${join(open, 'git-credential-broker', 'daemon.sock')}'`,
    },
  );
  t.notOk(existsSync(main), 'the listener already started was closed');
});
