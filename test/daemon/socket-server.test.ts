/**
 * Hostile input at the socket: every malformed, oversized, idle or excess
 * connection gets an error reply or is closed, and the daemon keeps serving.
 */
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from '../../shared/protocol.js';
import { sendRequest } from '../../shared/daemon-client.js';
import {
  exchange,
  startInProcessDaemon,
  STUB_HOST,
  type InProcessDaemon,
  type InProcessDaemonOptions,
} from '../fixtures/in-process-daemon.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';

async function daemon(t: Test, options: InProcessDaemonOptions = {}): Promise<InProcessDaemon> {
  const d = await startInProcessDaemon(options);
  t.teardown(() => d.stop());
  return d;
}

async function stillServes(t: Test, d: InProcessDaemon): Promise<void> {
  const reply = await sendRequest(d.socketPath, {
    v: PROTOCOL_VERSION,
    op: 'get',
    target: { protocol: 'https', host: STUB_HOST, path: 'acme/widgets' },
    requester: { pid: 1, ppid: 1 },
  });
  t.equal(reply.ok, true, 'the daemon still serves a well-formed request');
}

function errorCode(reply: string): unknown {
  return (JSON.parse(reply) as { error?: { code?: string } }).error?.code;
}

function openIdle(socketPath: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(socketPath, () => resolve(socket));
    socket.on('error', () => undefined);
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

t.test('malformed JSON and protocol get an error reply and the daemon serves on', async (t) => {
  const d = await daemon(t);
  const inputs = [
    'not json\n',
    '[1,2]\n',
    '{"v":2,"op":"get"}\n',
    '{"v":1,"op":"steal"}\n',
    '{"v":1,"op":"get","target":"x"}\n',
    '{"v":1,"op":"get","target":{"protocol":"https","host":"git.example","path":7}}\n',
    '{"v":1,"op":"get","target":{"protocol":"https","host":"git.example"},"permissions":{"contents":"root"}}\n',
    '\u0000\u00ff\n',
  ];

  for (const input of inputs) {
    const { reply } = await exchange(d.socketPath, input);
    t.equal(errorCode(reply), 'BAD_REQUEST', JSON.stringify(input));
  }

  await stillServes(t, d);
});

t.test('a request larger than the cap is refused without reading it all', async (t) => {
  const d = await daemon(t);

  const { reply } = await exchange(d.socketPath, 'x'.repeat(MAX_MESSAGE_BYTES + 1));

  t.match(JSON.parse(reply), { ok: false, error: { code: 'BAD_REQUEST', message: /larger than/ } });
  await stillServes(t, d);
});

t.test('a request cut short by the client gets an error reply', async (t) => {
  const d = await daemon(t);

  const { reply } = await exchange(d.socketPath, '{"v":1,"op":"pi', { halfClose: true });

  t.match(JSON.parse(reply), { error: { code: 'BAD_REQUEST', message: /without a newline/ } });
  await stillServes(t, d);
});

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

  await exchange(d.socketPath, '{"v":1,"op":"ping"}\n');
  t.same(
    reports().map((r) => r.refused),
    [1],
    'the first refusal is reported at once',
  );
  for (let i = 0; i < 4; i++) await exchange(d.socketPath, '{"v":1,"op":"ping"}\n');
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
  await exchange(d.socketPath, '{"v":1,"op":"ping"}\n');
  await exchange(d.socketPath, '{"v":1,"op":"ping"}\n');
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

  const { reply } = await exchange(d.socketPath, '{"v":1,"op":"ping"}\n');
  // More refusals in a burst: logged once, not once each.
  for (let i = 0; i < 5; i++) await exchange(d.socketPath, '{"v":1,"op":"ping"}\n');
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

t.test('nothing a client sends makes the daemon log a secret', async (t) => {
  const d = await daemon(t);
  await stillServes(t, d);
  await exchange(
    d.socketPath,
    '{"v":1,"op":"erase","target":{"protocol":"https","host":"git.example","path":"acme/widgets"},"password":"' +
      d.provider.secrets[0] +
      '"}\n',
  );
  await exchange(d.socketPath, 'garbage ' + d.provider.secrets[0] + '\n');

  assertNoSecrets(t, { daemonLog: d.logText() }, d.provider.secrets);
});

t.test('a socket with a client policy refuses status and stop', async (t) => {
  const d = await daemon(t, { policy: { name: 'sandbox', allow: ['acme/*'] } });

  const status = await sendRequest(d.socketPath, { v: PROTOCOL_VERSION, op: 'status' });
  const stop = await sendRequest(d.socketPath, { v: PROTOCOL_VERSION, op: 'stop' });

  for (const reply of [status, stop]) {
    t.match(reply, {
      ok: false,
      error: { code: 'DENIED', message: /not allowed on socket 'sandbox'/ },
    });
  }
  await stillServes(t, d);
});
