/**
 * Clients that misbehave on the socket, against a real daemon process.
 */
import { connect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { processExists } from '../../helper/process-exists.js';
import { MAX_CONNECTIONS } from '../../daemon/connection-admission.js';
import { sendRequest } from '../../shared/daemon-client.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { createBrokerWorld } from '../fixtures/broker-world.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { runHelper } from '../fixtures/run-helper.js';

function open(socketPath: string, allowHalfOpen = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath, allowHalfOpen });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

const closed = (socket: Socket): Promise<void> =>
  new Promise((resolve) => socket.once('close', () => resolve()));

t.test('a client trickling a request does not hold up SIGTERM', async (t) => {
  const w = await createBrokerWorld(t.testdir());
  t.teardown(() => w.stop());
  const slow = await open(w.daemon.socketPath);
  slow.on('error', () => undefined);
  slow.write('{"v":1,');

  process.kill(await daemonPid(w.daemon.socketPath, w.env), 'SIGTERM');
  const exitCode = await Promise.race([
    w.daemon.exited,
    new Promise((r) => setTimeout(() => r('still running'), 8000)),
  ]);
  slow.destroy();

  t.equal(exitCode, 0, 'the daemon exited while the slow client was still connected');
});

t.test('a client that keeps writing after the reply is disconnected', async (t) => {
  const w = await createBrokerWorld(t.testdir());
  t.teardown(() => w.stop());
  const client = await open(w.daemon.socketPath, true);
  client.on('error', () => undefined);
  let reply = '';
  client.on('data', (chunk: Buffer) => (reply += chunk.toString()));
  const gone = closed(client);

  client.write('{"v":1,"op":"ping"}\n');
  let writes = 0;
  const writer = setInterval(() => {
    if (!client.destroyed && writes++ < 100) client.write('more bytes after the reply\n');
  }, 50);
  await gone;
  clearInterval(writer);

  t.match(reply, /"ok":true/);
  t.ok(writes < 100, 'the connection was closed under the writer, not by the writer stopping');
});

t.test(
  'the daemon keeps serving others while garbage and idle clients are connected',
  async (t) => {
    const w = await createBrokerWorld(t.testdir());
    t.teardown(() => w.stop());
    const idle = await open(w.daemon.socketPath);
    idle.on('error', () => undefined);
    const garbage = await open(w.daemon.socketPath);
    let garbageReply = '';
    garbage.on('data', (chunk: Buffer) => (garbageReply += chunk.toString()));
    garbage.write('\u0000\u00ff not json at all\n');
    await closed(garbage);

    const served = await runHelper(
      ['--socket', w.daemon.socketPath, 'get'],
      `protocol=http\nhost=${w.github.host}\npath=acme/widgets\n\n`,
      w.env,
    );
    idle.destroy();

    t.match(garbageReply, /"code":"BAD_REQUEST"/);
    t.equal(served.code, 0, served.stderr);
    t.match(served.stdout, /^password=/m);
  },
);

t.test(
  'a daemon holding its 256 connections still answers ping, status and stop, and nothing else',
  async (t) => {
    const w = await createBrokerWorld(t.testdir());
    t.teardown(() => w.stop());
    const idle = await Promise.all(
      Array.from({ length: MAX_CONNECTIONS }, () => open(w.daemon.socketPath)),
    );
    for (const socket of idle) socket.on('error', () => undefined);
    t.teardown(() => idle.forEach((socket) => socket.destroy()));

    const ping = await sendRequest(w.daemon.socketPath, { v: PROTOCOL_VERSION, op: 'ping' });
    const get = await runHelper(
      ['--socket', w.daemon.socketPath, 'get'],
      `protocol=http\nhost=${w.github.host}\npath=acme/widgets\n\n`,
      w.env,
    );
    const status = await runHelper(['status', '--socket', w.daemon.socketPath], '', w.env);
    const stop = await runHelper(['stop', '--socket', w.daemon.socketPath], '', w.env);
    // Gone or a zombie its parent, this test, has yet to reap: not running.
    const runningWhenStopReturned = processExists(w.daemon.pid);

    t.match(ping, { ok: true, pid: w.daemon.pid });
    t.notMatch(get.stdout, /password=/, 'a credential request is over the cap');
    t.match(get.stderr, /busy/);
    t.equal(status.code, 0, status.stderr);
    t.match(status.stdout, /daemon: +running/);
    t.equal(stop.code, 0, stop.stderr);
    t.match(stop.stdout, /stopped/);
    t.notOk(runningWhenStopReturned, 'the daemon had exited when stop said so');
  },
);

t.test('a daemon refuses to replace a file that is not a socket', async (t) => {
  const dir = t.testdir();
  const precious = join(dir, 'important.txt');
  writeFileSync(precious, 'data\n');
  const { spawnSync } = await import('node:child_process');

  const result = spawnSync(
    process.execPath,
    [HELPER_BIN, 'daemon', '--config', join(dir, 'none.json'), '--socket', precious],
    {
      encoding: 'utf8',
      env: { ...process.env },
    },
  );

  t.not(result.status, 0);
  // The config error comes first; prove the file is intact either way.
  const { readFileSync } = await import('node:fs');
  t.equal(readFileSync(precious, 'utf8'), 'data\n');
});

async function daemonPid(socketPath: string, env: NodeJS.ProcessEnv): Promise<number> {
  const status = await runHelper(['status', '--json', '--socket', socketPath], '', env);
  return (JSON.parse(status.stdout) as { pid: number }).pid;
}
