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
    unrestrictedSocket: () => (hasUnrestrictedSocket ? '/run/my broker/d.sock' : undefined),
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
  const cases = [
    {
      why: "this user only, beside the daemon's own socket: that socket, named",
      unrestricted: true,
      policy: sandbox,
      fix: (op: string) =>
        `use the daemon's own socket (git-credential-broker ${op} --socket '/run/my broker/d.sock')`,
    },
    {
      why: 'open to a group: other users are told whom to ask, not where the socket is',
      unrestricted: true,
      policy: { ...sandbox, group: 'ci' },
      fix: () => "ask the operator to run it on the operator's socket",
    },
    {
      why: 'this user only, and no other socket: the operator may signal it',
      unrestricted: false,
      policy: sandbox,
      fix: (op: string) =>
        op === 'stop'
          ? `every socket of this daemon is a sandbox's: ask the operator to stop it, or, as the operator, stop it with SIGTERM (kill -TERM ${process.pid})`
          : "every socket of this daemon is a sandbox's: ask the operator to give it a socket without a client policy for 'status'",
    },
    {
      why: 'open to a group, and no other socket: no pid to other users',
      unrestricted: false,
      policy: { ...sandbox, group: 'ci' },
      fix: (op: string) =>
        op === 'stop'
          ? "every socket of this daemon is a sandbox's: ask the operator to stop it"
          : "every socket of this daemon is a sandbox's: ask the operator to give it a socket without a client policy for 'status'",
    },
  ];
  for (const { why, unrestricted, policy, fix } of cases) {
    const { daemon, calls } = control(unrestricted);
    for (const op of ['status', 'stop'] as const) {
      await t.rejects(
        answerControl({ v: PROTOCOL_VERSION, op }, { version: 'v', control: daemon, policy }, log),
        {
          code: 'DENIED',
          message: `'${op}' is not allowed on socket 'sandbox', ${policy === sandbox ? 'which has a client policy' : "which has a client policy and is open to group 'ci'"}; ${fix(op)}`,
        },
        `${op}: ${why}`,
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
