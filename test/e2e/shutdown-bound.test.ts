/**
 * A shutdown is bounded as a whole, revocations included, even when GitHub
 * hangs: a real daemon process with revokeOnShutdown, stopped by `stop`,
 * SIGTERM or SIGINT, against the fixture server with injected hangs. Each
 * subtest waits out the real bound (25 s), so they run side by side.
 */
import t, { type Test } from 'tap';
import { SHUTDOWN_BUDGET_MS } from '../../daemon/shutdown.js';
import { STOP_WAIT_MS } from '../../shared/protocol.js';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';
import { cli } from '../fixtures/cli-world.js';
import {
  assertLeftUnrevoked,
  assertNothingSecret,
  get,
  hangRevocations,
  logRecords,
  MINT,
  shutdownMs,
} from '../fixtures/shutdown-checks.js';

t.jobs = 4;

async function world(t: Test): Promise<BrokerWorld> {
  const w = await createBrokerWorld(t.testdir(), {
    installed: ['widgets', 'gadgets', 'sprockets'],
    config: { revokeOnShutdown: true },
    bareRepos: false,
  });
  t.teardown(() => w.stop());
  return w;
}

t.test('stop returns within its wait while GitHub hangs on every revocation', async (t) => {
  const w = await world(t);
  await get(w, 'widgets');
  await get(w, 'gadgets');
  hangRevocations(w);
  // A request in flight when stop comes still gets its token (and that
  // token is one to revoke too). Its 6 s and a revocation's 25 s of
  // retries, one after the other, outlasted what stop waits.
  w.github.injectFault({ method: 'POST', path: MINT, status: 0, delayMs: 6000 });
  const inFlight = get(w, 'sprockets');
  await new Promise((resolve) => setTimeout(resolve, 500));

  const stop = await cli(w, ['stop']);
  const answered = await inFlight;
  const code = await w.daemon.exited;

  // stop fails when the daemon still runs after its wait: exit 0 is the proof.
  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, /stopped/);
  const tookMs = shutdownMs(w);
  t.ok(tookMs <= SHUTDOWN_BUDGET_MS + 500, `the shutdown took ${tookMs} ms`);
  t.ok(tookMs >= SHUTDOWN_BUDGET_MS - 500, 'having waited for GitHub as long as it could');
  t.equal(code, 0, 'the daemon exited cleanly');
  t.match(answered.stdout, /^password=ghs_/m, 'the request in flight was answered');
  await assertLeftUnrevoked(t, w, ['widgets', 'gadgets', 'sprockets']);
  await assertNothingSecret(t, w, { stop: stop.stdout + stop.stderr });
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} ends the daemon within the bound while GitHub hangs`, async (t) => {
    const w = await world(t);
    await get(w, 'widgets');
    hangRevocations(w);

    const startedMs = Date.now();
    w.daemon.signal(signal);
    const code = await w.daemon.exited;
    const tookMs = Date.now() - startedMs;

    t.equal(code, 0);
    t.ok(tookMs < STOP_WAIT_MS, `exited within what stop waits (${tookMs} ms)`);
    await assertLeftUnrevoked(t, w, ['widgets']);
    t.match(w.daemon.output(), /"daemon stopped"/, 'the log says it stopped');
    await assertNothingSecret(t, w);
  });
}

t.test('a request still in flight when the time is up does not hold the stop', async (t) => {
  // Found while bounding the shutdown: a request making two GitHub calls,
  // each with its own 25 s budget, held the stop past what `stop` waits.
  const w = await world(t);
  await get(w, 'widgets');
  // The installation lookup answers late, and then every mint attempt
  // hangs: the request outlasts the shutdown's 25 s by several seconds.
  w.github.injectFault({
    method: 'GET',
    path: /\/repos\/acme\/gadgets\/installation$/,
    status: 0,
    delayMs: 8000,
  });
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
  const code = await w.daemon.exited;
  const abandoned = await inFlight;

  t.equal(stop.code, 0, stop.stderr);
  t.ok(shutdownMs(w) <= SHUTDOWN_BUDGET_MS + 500, `the shutdown took ${shutdownMs(w)} ms`);
  t.equal(code, 0);
  t.match(logRecords(w, /^stopping with requests still in flight/), [{ inFlight: 1 }]);
  t.notOk(abandoned.stdout.includes('password='), 'the abandoned request got no credential');
  await assertLeftUnrevoked(t, w, ['widgets']);
  await assertNothingSecret(t, w, { stop: stop.stdout + stop.stderr });
});
