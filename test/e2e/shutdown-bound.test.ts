/**
 * A shutdown is bounded as a whole, revocations included, even when GitHub
 * hangs: a real daemon process with revokeOnShutdown, stopped by `stop`,
 * SIGTERM or SIGINT, against the fixture server with injected hangs. Each
 * subtest waits out the real bound (25 s), so they run side by side.
 */
import t, { type Test } from 'tap';
import { fingerprint } from '../../daemon/token-cache.js';
import { SHUTDOWN_BUDGET_MS } from '../../daemon/shutdown.js';
import { STOP_WAIT_MS } from '../../shared/protocol.js';
import { createBrokerWorld, INSTALLATION_ID, type BrokerWorld } from '../fixtures/broker-world.js';
import { cli } from '../fixtures/cli-world.js';
import { assertNoSecrets, privateKeyFragments } from '../fixtures/leak-scan.js';
import { runHelper, type HelperResult } from '../fixtures/run-helper.js';

t.jobs = 4;

const REVOKE = /\/installation\/token$/;
const MINT = /\/access_tokens$/;

async function world(t: Test): Promise<BrokerWorld> {
  const w = await createBrokerWorld(t.testdir(), {
    installed: ['widgets', 'gadgets', 'sprockets'],
    config: { revokeOnShutdown: true },
    bareRepos: false,
  });
  t.teardown(() => w.stop());
  return w;
}

function get(w: BrokerWorld, repo: string): Promise<HelperResult> {
  return runHelper(
    ['--socket', w.daemon.socketPath, 'get'],
    `protocol=http\nhost=${w.github.host}\npath=acme/${repo}.git\n\n`,
  );
}

/** GitHub takes every revocation and never answers it. */
function hangRevocations(w: BrokerWorld): void {
  w.github.injectFault({
    method: 'DELETE',
    path: REVOKE,
    status: 0,
    delayMs: 120_000,
    times: Infinity,
  });
}

/** The daemon's own log records with this message. */
function logRecords(w: BrokerWorld, msg: RegExp): Record<string, unknown>[] {
  return w.daemon
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => typeof record.msg === 'string' && msg.test(record.msg));
}

/** How long the daemon's shutdown took, as its last log line says. */
function shutdownMs(w: BrokerWorld): number {
  return Number(logRecords(w, /^daemon stopped$/)[0]?.durationMs);
}

/** What the log and the audit log say of the tokens left unrevoked. */
async function assertLeftUnrevoked(t: Test, w: BrokerWorld, repos: string[]): Promise<void> {
  const expected = repos.map((repo) => {
    const { token } = w.github.mints.find((mint) => mint.repositories?.[0] === repo)!;
    return {
      repository: `acme/${repo}`,
      installation: INSTALLATION_ID,
      tokenSha256: fingerprint(token),
    };
  });
  const byRepository = (a: { repository: string }, b: { repository: string }): number =>
    a.repository.localeCompare(b.repository);

  const [warning] = logRecords(w, /^tokens left unrevoked at shutdown/);
  t.match(warning, { unrevoked: repos.length }, 'the log says how many were left');
  const named = [...((warning?.tokens as { repository: string }[] | undefined) ?? [])];
  t.match(named.sort(byRepository), expected.sort(byRepository), 'and names each by its metadata');

  const failed = (await w.daemon.auditRecords()).filter((r) => r.event === 'token.failed');
  t.match(
    failed.map((r) => ({ ...r, repository: String(r.repository) })).sort(byRepository),
    expected.map((e) => ({
      ...e,
      reason: 'shutdown',
      error: { code: 'TIMEOUT', message: /the daemon stopped before the revocation was confirmed/ },
    })),
    'the audit log has a token.failed line for each',
  );
  t.notOk(
    (await w.daemon.auditRecords()).some((r) => r.event === 'token.revoked'),
    'none is audited as revoked',
  );
}

async function assertNothingSecret(t: Test, w: BrokerWorld, more: Record<string, string> = {}) {
  assertNoSecrets(t, { daemon: w.daemon.output(), audit: await w.daemon.auditText(), ...more }, [
    ...w.github.issuedTokens(),
    ...privateKeyFragments(w.app.privateKeyPem),
  ]);
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
