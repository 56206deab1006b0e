/**
 * Which connections a socket takes and how long it waits on them, through a
 * real socket server: idle connections are closed at their deadline, and
 * connections beyond the cap are answered busy, their refusals reported in
 * the log at most once a window.
 */
import t, { type Test } from 'tap';
import {
  exchange,
  openIdle,
  startInProcessDaemon,
  stillServes,
  until,
  type InProcessDaemon,
  type InProcessDaemonOptions,
} from '../fixtures/in-process-daemon.js';

/** A credential request: beyond the cap, only control requests are served. */
const GET_LINE = `${JSON.stringify({
  v: 1,
  op: 'get',
  target: { protocol: 'https', host: 'git.example', path: 'acme/widgets' },
  requester: { pid: 1, ppid: 0 },
})}\n`;

async function daemon(t: Test, options: InProcessDaemonOptions = {}): Promise<InProcessDaemon> {
  const d = await startInProcessDaemon(options);
  t.teardown(() => d.stop());
  return d;
}

t.test('a connection that sends nothing is closed once idle', async (t) => {
  const d = await daemon(t, { requestLineTimeoutMs: 20 });
  const socket = await openIdle(d.socketPath);

  await new Promise((resolve) => socket.once('close', resolve));

  await until(() => d.server.connections === 0);
  await stillServes(t, d);
});

t.test('each idle connection is closed at its own deadline, never before it', async (t) => {
  const timeoutMs = 400;
  const d = await daemon(t, { requestLineTimeoutMs: timeoutMs });
  const closedAfter = (socket: Awaited<ReturnType<typeof openIdle>>, openedMs: number) =>
    new Promise<number>((resolve) =>
      socket.once('close', () => resolve(performance.now() - openedMs)),
    );

  const firstOpened = performance.now();
  const first = closedAfter(await openIdle(d.socketPath), firstOpened);
  await new Promise((resolve) => setTimeout(resolve, 150));
  const secondOpened = performance.now();
  const second = closedAfter(await openIdle(d.socketPath), secondOpened);
  // A request that comes in meanwhile is not cut off by either deadline.
  await stillServes(t, d);

  const [firstMs, secondMs] = await Promise.all([first, second]);
  t.ok(firstMs >= timeoutMs - 5, `first closed after ${firstMs.toFixed(0)} ms`);
  t.ok(secondMs >= timeoutMs - 5, `second closed after ${secondMs.toFixed(0)} ms`);
  t.ok(secondMs < timeoutMs * 4, 'and the later deadline still fired');
  await until(() => d.server.connections === 0);
});

t.test('refusals in a window are reported when it ends, with their count', async (t) => {
  const windowMs = 300;
  const d = await daemon(t, { maxConnections: 1, busyReportMs: windowMs });
  const held = await openIdle(d.socketPath);
  await until(() => d.server.connections === 1);
  const reports = (): { refused: number }[] =>
    d
      .logText()
      .split('\n')
      .filter((line) => line.includes('refusing connections'))
      .map((line) => JSON.parse(line) as { refused: number });

  await exchange(d.socketPath, GET_LINE);
  t.same(
    reports().map((r) => r.refused),
    [1],
    'the first refusal is reported at once',
  );
  for (let i = 0; i < 4; i++) await exchange(d.socketPath, GET_LINE);
  t.equal(reports().length, 1, 'the next ones wait for the end of the window');
  await until(() => reports().length === 2);
  t.same(
    reports().map((r) => r.refused),
    [1, 4],
    'then are reported with their count',
  );
  await new Promise((resolve) => setTimeout(resolve, windowMs * 2));
  t.equal(reports().length, 2, 'and with no refusal since, nothing more');

  // Refusals pending when the server closes are reported then.
  await exchange(d.socketPath, GET_LINE);
  await exchange(d.socketPath, GET_LINE);
  held.destroy();
  await d.server.close();
  t.same(
    reports().map((r) => r.refused),
    [1, 4, 1, 1],
  );
});

t.test('connections beyond the cap are answered busy; the others are served', async (t) => {
  const d = await daemon(t, { maxConnections: 2 });
  const held = [await openIdle(d.socketPath), await openIdle(d.socketPath)];
  await until(() => d.server.connections === 2);

  const { reply } = await exchange(d.socketPath, GET_LINE);
  // More refusals in a burst: logged once, not once each.
  for (let i = 0; i < 5; i++) await exchange(d.socketPath, GET_LINE);
  t.equal(
    d.logText().match(/refusing connections: too many open/g)?.length,
    1,
    'a burst of refusals is one log line',
  );
  for (const socket of held) socket.destroy();
  await until(() => d.server.connections === 0);

  t.match(JSON.parse(reply), { ok: false, error: { code: 'DAEMON_UNREACHABLE', quit: false } });
  await stillServes(t, d);
});

t.test('beyond the cap, ping and status are served and counted as no refusal', async (t) => {
  const d = await daemon(t, { maxConnections: 1 });
  const held = await openIdle(d.socketPath);
  t.teardown(() => held.destroy());
  await until(() => d.server.connections === 1);

  const ping = await exchange(d.socketPath, '{"v":1,"op":"ping"}\n');
  const trickled = await exchange(d.socketPath, '{"v":1,"op":"pi');

  t.match(JSON.parse(ping.reply), { ok: true, pid: process.pid });
  t.match(JSON.parse(trickled.reply), { ok: false, error: { code: 'DAEMON_UNREACHABLE' } });
  t.equal(d.logText().match(/"refused":1/g)?.length, 1, 'only the partial line was refused');
});
