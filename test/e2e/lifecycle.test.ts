/**
 * The daemon's lifecycle under signals, end to end: a real daemon process,
 * the real helper and the GitHub-compatible server.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { sendRequest } from '../../shared/daemon-client.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { createBrokerWorld, OWNER, type BrokerWorld, helperGet } from '../fixtures/broker-world.js';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { createTestApp } from '../fixtures/app-keys.js';
import { assertNoSecrets, privateKeyFragments } from '../fixtures/leak-scan.js';

const MINT = /\/access_tokens$/;

async function world(t: Test, options = {}): Promise<BrokerWorld> {
  const w = await createBrokerWorld(t.testdir(), options);
  t.teardown(() => w.stop());
  return w;
}

/** Waits (bounded) until the fixture has received `count` requests. */
async function untilRequests(w: BrokerWorld, count: number): Promise<void> {
  for (let i = 0; i < 500 && w.github.requestsStarted < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (w.github.requestsStarted < count) throw new Error('the request never reached GitHub');
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} finishes the request in flight and flushes the audit log`, async (t) => {
    const w = await world(t);
    w.github.injectFault({ method: 'POST', path: MINT, status: 0, delayMs: 1000 });

    const pending = helperGet(w, 'widgets');
    await untilRequests(w, 2);
    w.daemon.signal(signal);
    const result = await pending;
    const code = await w.daemon.exited;

    t.equal(result.code, 0);
    t.match(result.stdout, /^password=ghs_/m, 'the helper got its token');
    t.equal(code, 0, 'the daemon exited cleanly');
    const events = (await w.daemon.auditRecords()).map((r) => r.event);
    t.same(events, ['token.minted'], 'the audit line was flushed before exit');
  });
}

t.test('SIGHUP reloads the config without dropping a request', async (t) => {
  const w = await world(t, { installed: ['widgets', 'gadgets'] });
  await helperGet(w, 'widgets');
  w.github.injectFault({ method: 'POST', path: MINT, status: 0, delayMs: 800 });
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as {
    integrations: Array<Record<string, unknown>>;
  };
  config.integrations[0]!.permissions = { contents: 'read' };
  await writeFile(w.daemon.configPath, JSON.stringify(config));

  const inFlight = helperGet(w, 'gadgets');
  await untilRequests(w, 4);
  w.daemon.signal('SIGHUP');
  const during = await Promise.all(Array.from({ length: 20 }, () => helperGet(w, 'widgets')));
  const first = await inFlight;
  await untilReloaded(w);
  const after = await sendRequest(w.daemon.socketPath, {
    v: PROTOCOL_VERSION,
    op: 'get',
    target: { protocol: 'http', host: w.github.host, path: `${OWNER}/widgets` },
    requester: { pid: 1, ppid: 0 },
  });

  t.equal(first.code, 0, 'the request in flight was answered');
  t.match(first.stdout, /^password=/m);
  t.ok(
    during.every((r) => r.code === 0 && /^password=/m.test(r.stdout)),
    'requests during the reload were all answered',
  );
  t.same(
    after.ok && after.credential?.granted.permissions,
    { contents: 'read' },
    'served under the new config',
  );
  // The last mint for widgets: the delayed gadgets mint may finish after it.
  const widgetsMints = w.github.mints.filter((mint) => mint.repositories?.includes('widgets'));
  t.same(widgetsMints.at(-1)!.permissions, { contents: 'read' }, 'minted with the new config');

  // The tokens cached under the old config are never served again: the
  // reload dropped them, and status lists only what the new config serves
  // (not gadgets either, whose mint under the old config ended after it).
  const status = await sendRequest(w.daemon.socketPath, { v: PROTOCOL_VERSION, op: 'status' });
  t.same(status.ok && status.status?.cache.map((entry) => [entry.repository, entry.permissions]), [
    [`${OWNER}/widgets`, { contents: 'read' }],
  ]);
  t.match(
    w.daemon.output(),
    /"dropped":[12],.*dropped cached tokens that the new config no longer serves/,
  );
});

async function untilReloaded(w: BrokerWorld): Promise<void> {
  for (let i = 0; i < 500 && !w.daemon.output().includes('config reloaded'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

t.test('SIGHUP opens the audit log anew, as log rotation needs', async (t) => {
  const w = await world(t);
  await helperGet(w, 'widgets');
  const rotated = `${w.daemon.auditLogPath}.1`;
  await rename(w.daemon.auditLogPath, rotated);

  w.daemon.signal('SIGHUP');
  await untilReloaded(w);
  const after = await helperGet(w, 'widgets');

  t.match(after.stdout, /^password=/m);
  const events = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { event: string }).event);
  t.same(events(await readFile(rotated, 'utf8')), ['token.minted'], 'the old file keeps its line');
  t.same(events(await w.daemon.auditText()), ['token.cache_hit'], 'the new line is in a new file');
});

t.test('SIGHUP with an unchanged config keeps hits free of GitHub calls', async (t) => {
  const w = await world(t);
  await helperGet(w, 'widgets');
  const callsBefore = w.github.requestsStarted;

  w.daemon.signal('SIGHUP');
  await untilReloaded(w);
  const after = await helperGet(w, 'widgets');

  t.match(after.stdout, /^password=/m);
  t.equal(w.github.requestsStarted, callsBefore, 'no installation lookup, no mint');
});

t.test('SIGHUP reloads the private key the config names', async (t) => {
  const w = await world(t, { installed: ['widgets', 'gadgets'] });
  await helperGet(w, 'widgets');
  await mkdir(join(w.dir, 'rotated'));
  const rotated = await createTestApp(join(w.dir, 'rotated'), { appId: w.app.appId });
  await writeFile(w.app.privateKeyPath, rotated.privateKeyPem);

  w.daemon.signal('SIGHUP');
  await untilReloaded(w);
  const minted = await helperGet(w, 'gadgets');

  t.equal(minted.stdout.includes('password='), false, 'the new key signs the next mint');
  t.match(minted.stderr, /do not match/, 'GitHub refused the JWT signed with the new key');
  assertNoSecrets(
    t,
    { daemon: w.daemon.output(), stderr: minted.stderr },
    privateKeyFragments(rotated.privateKeyPem),
  );
});

t.test('a config that fails to load on SIGHUP leaves the daemon serving', async (t) => {
  const w = await world(t);
  await writeFile(w.daemon.configPath, '{ not json');

  w.daemon.signal('SIGHUP');
  for (let i = 0; i < 500 && !w.daemon.output().includes('config reload failed'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const result = await helperGet(w, 'widgets');

  t.match(w.daemon.output(), /config reload failed/);
  t.equal(result.code, 0);
  t.match(result.stdout, /^password=/m);
});

t.test('after SIGKILL a new daemon starts cleanly on the same socket', async (t) => {
  const w = await world(t);
  await helperGet(w, 'widgets');
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as Record<string, unknown>;

  w.daemon.signal('SIGKILL');
  await w.daemon.exited;
  const secondDir = join(w.dir, 'second');
  await mkdir(secondDir);
  const next = await startDaemonProcess(secondDir, config, {}, { socketPath: w.daemon.socketPath });
  t.teardown(() => next.stop());
  const result = await helperGet(w, 'widgets', next.socketPath);

  t.equal(result.code, 0, `the helper is served: ${result.stderr}`);
  t.match(result.stdout, /^password=/m);
  assertNoSecrets(t, { daemon: next.output() }, w.github.issuedTokens());
});
