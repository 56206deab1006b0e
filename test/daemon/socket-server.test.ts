/**
 * Hostile input at the socket: every malformed or oversized request gets an
 * error reply, and the daemon keeps serving. Idle and excess connections:
 * connection-admission.test.ts.
 */
import t, { type Test } from 'tap';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from '../../shared/protocol.js';
import { sendRequest } from '../../shared/daemon-client.js';
import {
  exchange,
  startInProcessDaemon,
  stillServes,
  type InProcessDaemon,
  type InProcessDaemonOptions,
} from '../fixtures/in-process-daemon.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';

async function daemon(t: Test, options: InProcessDaemonOptions = {}): Promise<InProcessDaemon> {
  const d = await startInProcessDaemon(options);
  t.teardown(() => d.stop());
  return d;
}

function errorCode(reply: string): unknown {
  return (JSON.parse(reply) as { error?: { code?: string } }).error?.code;
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
