/**
 * `shutdownTimeoutSeconds` bounds the whole shutdown, and `stop` waits for
 * whatever bound the running daemon has: a real daemon process with
 * revokeOnShutdown against the fixture server, its revocations hanging.
 */
import { readFile, writeFile } from 'node:fs/promises';
import t, { type Test } from 'tap';
import { sendRequest } from '../../shared/daemon-client.js';
import { PROTOCOL_VERSION, STOP_WAIT_MS } from '../../shared/protocol.js';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';
import { cli } from '../fixtures/cli-world.js';
import {
  assertLeftUnrevoked,
  assertNothingSecret,
  get,
  hangRevocations,
  MINT,
  shutdownMs,
} from '../fixtures/shutdown-checks.js';

t.jobs = 3;

async function world(t: Test, config: Record<string, unknown> = {}): Promise<BrokerWorld> {
  const w = await createBrokerWorld(t.testdir(), {
    installed: ['widgets', 'gadgets'],
    config: { revokeOnShutdown: true, ...config },
    bareRepos: false,
  });
  t.teardown(() => w.stop());
  return w;
}

async function pingTimeoutMs(w: BrokerWorld): Promise<unknown> {
  const reply = await sendRequest(w.daemon.socketPath, { v: PROTOCOL_VERSION, op: 'ping' });
  return reply.ok ? reply.shutdownTimeoutMs : undefined;
}

t.test('a short shutdownTimeoutSeconds ends a shutdown on a hanging GitHub in time', async (t) => {
  const w = await world(t, { shutdownTimeoutSeconds: 2 });
  await get(w, 'widgets');
  await get(w, 'gadgets');
  hangRevocations(w);

  const startedMs = Date.now();
  const stop = await cli(w, ['stop']);
  const tookMs = Date.now() - startedMs;
  const code = await w.daemon.exited;

  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, /stopped/, 'stop reports success');
  t.ok(shutdownMs(w) <= 2500, `the shutdown took ${shutdownMs(w)} ms`);
  t.ok(shutdownMs(w) >= 1500, 'having given the revocations the time it had');
  // Not the 25 s a shutdown had before, even counting a slow start of the CLI.
  t.ok(tookMs < 20_000, `stop returned after ${tookMs} ms`);
  t.equal(code, 0);
  await assertLeftUnrevoked(t, w, ['widgets', 'gadgets']);
  await assertNothingSecret(t, w, { stop: stop.stdout + stop.stderr });
});

t.test('a reload that changes shutdownTimeoutSeconds bounds the next stop', async (t) => {
  const w = await world(t);
  const before = await pingTimeoutMs(w);
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as object;
  await writeFile(w.daemon.configPath, JSON.stringify({ ...config, shutdownTimeoutSeconds: 2 }));
  const reload = await cli(w, ['reload']);
  await get(w, 'widgets');
  hangRevocations(w);

  const after = await pingTimeoutMs(w);
  const status = await cli(w, ['status', '--json']);
  const stop = await cli(w, ['stop']);

  t.equal(reload.code, 0, reload.stderr);
  t.equal(before, 25_000, 'ping reports the default first');
  t.equal(after, 2000, 'and the reloaded value after');
  t.match(JSON.parse(status.stdout), { shutdownTimeoutSeconds: 2 }, 'so does status');
  t.equal(stop.code, 0, stop.stderr);
  t.ok(shutdownMs(w) <= 2500, `the shutdown took ${shutdownMs(w)} ms`);
  await assertLeftUnrevoked(t, w, ['widgets']);
});

t.test('stop waits for a shutdown longer than its default wait', async (t) => {
  // 33 s: past the 30 s stop used to wait for every daemon. A request in
  // flight whose mint hangs on every attempt holds the shutdown until its
  // retry budget (25 s) ends, then the revocations hang until the time is
  // up: over 30 s, even when the stop comes late on a busy machine.
  const w = await world(t, { shutdownTimeoutSeconds: 33 });
  await get(w, 'widgets');
  hangRevocations(w);
  w.github.injectFault({
    method: 'POST',
    path: MINT,
    status: 0,
    delayMs: 120_000,
    times: Infinity,
  });
  const inFlight = get(w, 'gadgets');
  await new Promise((resolve) => setTimeout(resolve, 500));

  const stop = await cli(w, ['stop']);
  await inFlight;

  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, /stopped/);
  t.ok(shutdownMs(w) > STOP_WAIT_MS, `the shutdown took ${shutdownMs(w)} ms`);
  t.ok(shutdownMs(w) <= 33_500, 'and ended within its own bound');
  await assertLeftUnrevoked(t, w, ['widgets']);
});
