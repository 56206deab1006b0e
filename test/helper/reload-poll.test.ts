/**
 * `reload` sees its reload land by polling ping (a few bytes), reading the
 * daemon's whole status only before the signal and once after; a daemon
 * without `reloads` in its ping is polled by status as before. A status of
 * another shape is refused before any signal. A relay socket on /tmp in
 * front of a real daemon (test/fixtures/relay-socket.ts) counts what reload
 * asks, and can rewrite replies.
 */
import t from 'tap';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';
import { relay } from '../fixtures/relay-socket.js';
import { runHelper } from '../fixtures/run-helper.js';

async function reloads(w: BrokerWorld): Promise<unknown[]> {
  const run = await runHelper(['status', '--json', '--socket', w.daemon.socketPath], '', w.env);
  return (JSON.parse(run.stdout) as { recentReloads?: unknown[] }).recentReloads ?? [];
}

t.test('reload polls ping and reads the status once before and once after', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  const { path, ops } = await relay(t, w.daemon.socketPath);

  const run = await runHelper(['reload', '--socket', path], '', w.env);

  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /reloaded '.*' and the keys it names/);
  t.equal(ops.filter((op) => op === 'status').length, 2, `ops: ${ops.join(' ')}`);
  t.ok(ops.includes('ping'), 'the wait is on ping');
  t.equal((await reloads(w)).length, 1);
});

t.test('a daemon whose ping has no reloads (an older one) is polled by status', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  const { path, ops } = await relay(t, w.daemon.socketPath, (op, reply) => {
    if (op !== 'ping') return reply;
    const older = { ...reply };
    delete older.reloads;
    return older;
  });

  const run = await runHelper(['reload', '--socket', path], '', w.env);

  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /reloaded '.*' and the keys it names/);
  t.ok(ops.filter((op) => op === 'status').length >= 2, `ops: ${ops.join(' ')}`);
});

t.test('a status of another shape is refused before any signal is sent', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  const { path } = await relay(t, w.daemon.socketPath, (op, reply) => {
    if (op !== 'status') return reply;
    const status = reply.status as Record<string, unknown>;
    return { ...reply, status: { ...status, config: 42 } };
  });

  const run = await runHelper(['reload', '--socket', path], '', w.env);

  t.equal(run.code, 1);
  t.match(
    run.stderr,
    /its status is not one this release reads \(config not as this release reads them\)/,
  );
  t.same(await reloads(w), [], 'the daemon was not signalled');
});

t.test('recentReloads and ping reloads of another shape are refused by name', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  // Found in review: these gave raw TypeErrors, or a line per character.
  const statusCases: [string, (outcome: Record<string, unknown>) => unknown][] = [
    ['a string', () => 'abc'],
    ['null entries', () => [null]],
    ['warnings a number', (outcome) => [{ ...outcome, warnings: 42 }]],
    ['warnings a string', (outcome) => [{ ...outcome, warnings: 'ABC' }]],
    ['error a number', (outcome) => [{ ...outcome, ok: false, error: 7 }]],
  ];
  const pingCases: [string, unknown][] = [
    ['null', null],
    ['a string time', { ended: 1, lastRequestedAtMs: '9e99' }],
  ];

  for (const [name, recentReloads] of statusCases) {
    let pinged = false;
    const { path } = await relay(t, w.daemon.socketPath, (op, reply) => {
      if (op === 'ping') pinged = true;
      if (op !== 'status' || !pinged) return reply;
      const status = reply.status as { recentReloads: Record<string, unknown>[] };
      const outcome = status.recentReloads.at(-1)!;
      return { ...reply, status: { ...status, recentReloads: recentReloads(outcome) } };
    });
    const run = await runHelper(['reload', '--socket', path], '', w.env);
    t.equal(run.code, 1, name);
    t.match(
      run.stderr,
      /sent SIGHUP to .*, but then: .*its status is not one this release reads \(recentReloads not as this release reads them\)/,
      name,
    );
    t.notMatch(run.stderr, /TypeError|^warning: A$/m, name);
    t.notMatch(run.stdout, /^warning: A$/m, name);
  }
  for (const [name, reloads] of pingCases) {
    const { path } = await relay(t, w.daemon.socketPath, (op, reply) =>
      op === 'ping' ? { ...reply, reloads } : reply,
    );
    const run = await runHelper(['reload', '--socket', path], '', w.env);
    t.equal(run.code, 1, name);
    t.match(
      run.stderr,
      /but then: the broker daemon at '.*' sent a ping reply whose 'reloads' is not \{ ended: count, lastRequestedAtMs\?: time \}; is it another program, or a daemon of another release\? Restart it/,
      name,
    );
  }
});
