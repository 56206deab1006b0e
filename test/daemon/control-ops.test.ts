import pino from 'pino';
import t from 'tap';
import { answerControl, type DaemonControl } from '../../daemon/control-ops.js';
import { PROTOCOL_VERSION, type DaemonStatus } from '../../shared/protocol.js';

const log = () => pino({ level: 'silent' });

function control(hasUnrestrictedSocket = true) {
  const calls: string[] = [];
  const daemon: DaemonControl = {
    status: async () => {
      calls.push('status');
      return { pid: 42 } as unknown as DaemonStatus;
    },
    stop: () => void calls.push('stop'),
    hasUnrestrictedSocket: () => hasUnrestrictedSocket,
  };
  return { daemon, calls };
}

const sandbox = { name: 'sandbox', allow: ['acme/*'] };

t.test('ping answers with the daemon version and pid on every socket', async (t) => {
  const reply = await answerControl(
    { v: PROTOCOL_VERSION, op: 'ping' },
    { version: '1.2.3', policy: sandbox },
    log,
  );

  t.same(reply, { v: PROTOCOL_VERSION, ok: true, daemonVersion: '1.2.3', pid: process.pid });
});

t.test('status and stop are served on a socket without a client policy', async (t) => {
  const { daemon, calls } = control();
  const socket = { version: 'v', control: daemon, policy: { name: '/run/d.sock' } };

  const status = await answerControl({ v: PROTOCOL_VERSION, op: 'status' }, socket, log);
  const stop = await answerControl({ v: PROTOCOL_VERSION, op: 'stop' }, socket, log);
  const beforeNextTurn = [...calls];
  await new Promise((resolve) => setImmediate(resolve));

  t.match(status, { ok: true, status: { pid: 42 } });
  t.same(stop, { v: PROTOCOL_VERSION, ok: true });
  t.same(beforeNextTurn, ['status'], 'stop begins only after its reply is on its way');
  t.same(calls, ['status', 'stop']);
});

t.test('status and stop are refused on a socket with a client policy, with the fix', async (t) => {
  for (const [unrestricted, fix] of [
    [true, "use the daemon's --socket"],
    [false, `stop it with SIGTERM (kill -TERM ${process.pid})`],
  ] as const) {
    const { daemon, calls } = control(unrestricted);
    for (const op of ['status', 'stop'] as const) {
      await t.rejects(
        answerControl(
          { v: PROTOCOL_VERSION, op },
          { version: 'v', control: daemon, policy: sandbox },
          log,
        ),
        {
          code: 'DENIED',
          message: `'${op}' is not allowed on socket 'sandbox', which has a client policy; ${unrestricted ? '' : "and every socket of this daemon is a sandbox's: "}${fix}`,
        },
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
    t.same(calls, [], 'the daemon was neither asked nor stopped');
  }
});

t.test('a socket without daemon control refuses status and stop as not served', async (t) => {
  await t.rejects(answerControl({ v: PROTOCOL_VERSION, op: 'status' }, { version: 'v' }, log), {
    code: 'BAD_REQUEST',
    message: "'status' is not served on this socket",
  });
});
