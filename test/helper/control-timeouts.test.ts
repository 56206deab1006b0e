/**
 * ping, status and stop do no GitHub work, so a daemon that does not answer
 * them is given a few seconds, not a git request's 60; and `reload` keeps to
 * its 10 s however the daemon answers its polls, saying that the signal was
 * sent. Found in review: `stop` took 121 s on a socket that never replied,
 * and reload's polls 60 s each.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CONTROL_REQUEST_TIMEOUT_MS } from '../../shared/daemon-client.js';
import { createBrokerWorld } from '../fixtures/broker-world.js';
import { relay } from '../fixtures/relay-socket.js';
import { runHelper } from '../fixtures/run-helper.js';

/** A socket that takes connections and requests and never answers. */
async function silentSocket(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-silent-'));
  const path = join(dir, 'silent.sock');
  const clients = new Set<Socket>();
  const server = createServer((client) => {
    clients.add(client);
    client.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(async () => {
    for (const client of clients) client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });
  return path;
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const startedAtMs = Date.now();
  const result = await run();
  return { result, ms: Date.now() - startedAtMs };
}

t.test('stop and status give up on a silent socket in seconds', async (t) => {
  const path = await silentSocket(t);

  const stop = await timed(() => runHelper(['stop', '--socket', path], ''));
  const status = await timed(() => runHelper(['status', '--socket', path], ''));

  t.equal(stop.result.code, 1);
  t.match(stop.result.stderr, /takes connections, but nothing answered there within 5 s/);
  // One deadline for ping and stop together; the helper's start-up on a busy machine on top.
  t.ok(stop.ms < CONTROL_REQUEST_TIMEOUT_MS + 5000, `stop took ${stop.ms} ms`);
  t.equal(status.result.code, 1);
  t.match(status.result.stderr, /did not answer within 5000 ms/);
  t.ok(status.ms < CONTROL_REQUEST_TIMEOUT_MS + 5000, `status took ${status.ms} ms`);
});

t.test('reload keeps to its 10 s when the daemon stops answering after the signal', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  // The status before the signal is answered; every ping after it is not.
  const { path } = await relay(t, w.daemon.socketPath, (op, reply) =>
    op === 'ping' ? undefined : reply,
  );

  const reload = await timed(() => runHelper(['reload', '--socket', path], '', w.env));

  t.equal(reload.result.code, 1);
  t.match(
    reload.result.stderr,
    /sent SIGHUP to the broker daemon \(pid \d+\) on '.*relay\.sock', so it reloads its config, but then: .*did not answer within \d+ ms.*; see how the reload went with 'git-credential-broker status'/,
  );
  t.ok(reload.ms < 10_000 + 5000, `reload took ${reload.ms} ms`);
});

t.test('reload says the signal was sent when the outcome never comes', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  // Pings answered, but never with this reload among those ended.
  const { path } = await relay(t, w.daemon.socketPath, (op, reply) =>
    op === 'ping' ? { ...reply, reloads: { ended: 0 } } : reply,
  );

  const reload = await timed(() => runHelper(['reload', '--socket', path], '', w.env));

  t.equal(reload.result.code, 1);
  t.match(
    reload.result.stderr,
    /sent SIGHUP to the broker daemon .*, but it did not say within 10 s how the reload went .*; see how the reload went with 'git-credential-broker status'/,
  );
  t.ok(reload.ms < 10_000 + 5000, `reload took ${reload.ms} ms`);
});
