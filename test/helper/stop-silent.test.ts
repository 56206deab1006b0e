/**
 * `stop` on a socket that takes connections and never answers: one
 * deadline for the whole command (about 5 s, not ping's 5 s and then
 * stop's), and a message that says what holds the socket.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cli, world } from '../fixtures/cli-world.js';
import { runHelper } from '../fixtures/run-helper.js';

/**
 * The whole command's bound: the 5 s deadline and node starting the helper
 * on a busy machine; ping's 5 s and then stop's took over 10 s.
 */
const STOP_BOUND_MS = 9_500;

t.test(
  'stop on a suspended daemon names it and how to resume it, within one deadline',
  async (t) => {
    const w = await world(t);
    w.daemon.signal('SIGSTOP');
    t.teardown(() => w.daemon.signal('SIGCONT'));

    const startedMs = Date.now();
    const stop = await cli(w, ['stop']);
    const tookMs = Date.now() - startedMs;

    t.equal(stop.code, 1, stop.stderr);
    t.equal(stop.stdout, '');
    t.ok(tookMs < STOP_BOUND_MS, `stop returned after ${tookMs} ms`);
    t.match(
      stop.stderr,
      `'${w.daemon.socketPath}' takes connections, but nothing answered there within 5 s; nothing was asked to stop: its lock names pid ${w.daemon.pid}, a broker daemon of this installation that is suspended (SIGSTOP); resume it with kill -CONT ${w.daemon.pid}, then run stop again`,
    );
  },
);

t.test('stop on a socket of another program that never answers says so', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-silent-'));
  const socketPath = join(dir, 'silent.sock');
  const held: Socket[] = [];
  const silent = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
  t.teardown(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const startedMs = Date.now();
  const stop = await runHelper(['stop', '--socket', socketPath], '', process.env);
  const tookMs = Date.now() - startedMs;

  t.equal(stop.code, 1, stop.stderr);
  t.ok(tookMs < STOP_BOUND_MS, `stop returned after ${tookMs} ms`);
  t.match(
    stop.stderr,
    `nothing was asked to stop: no broker daemon holds its lock ('${socketPath}.lock'): another program listens there, or a daemon of an older release`,
  );
});
