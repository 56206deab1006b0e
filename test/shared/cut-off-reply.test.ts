/**
 * How the helper reads a cut-off reply (shared/stopping-reply.ts), from a
 * fake daemon on a real Unix socket, through the bundled helper's `get`:
 * `cutOff` counts only on an error reply of this protocol version, and a
 * deadline that is no sane time is left out of the message.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { deadlineText } from '../../shared/stopping-reply.js';
import { isolatedGitHome } from '../fixtures/git.js';
import { runHelper } from '../fixtures/run-helper.js';

const GET = 'protocol=https\nhost=github.com\npath=acme/widgets\n\n';
const CUT_OFF = 'stopped before it could answer this request';

/** Runs `get` against a fake daemon that answers every request with `reply`. */
async function getFrom(t: Test, reply: unknown) {
  const home = await isolatedGitHome(t, 'gcb-cut-');
  const socket = join(home.dir, 'd.sock');
  const server = createServer((connection) => {
    connection.once('data', () => connection.end(`${JSON.stringify(reply)}\n`));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return runHelper(['--socket', socket, 'get'], GET, home.env);
}

function cutOffReply(cutOff: unknown, extra: Record<string, unknown> = {}) {
  return {
    v: 1,
    ok: false,
    error: { code: 'DAEMON_UNREACHABLE', message: 'sent by the daemon', quit: false, cutOff },
    ...extra,
  };
}

t.test('an OK reply that also carries error.cutOff is served as the credential', async (t) => {
  const run = await getFrom(t, {
    v: 1,
    ok: true,
    credential: {
      username: 'x-access-token',
      secret: 'fake-secret-not-a-token',
      expiresAtMs: Date.now() + 3_000_000,
      granted: { repositories: ['acme/widgets'], permissions: {} },
      cached: false,
    },
    error: { cutOff: { pid: 4242, untilMs: Date.now() } },
  });

  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^password=fake-secret-not-a-token$/m);
  t.notMatch(run.stderr, CUT_OFF);
});

t.test('a reply of another protocol version with cutOff is a version mismatch', async (t) => {
  const run = await getFrom(t, cutOffReply({ pid: 4242, untilMs: Date.now() }, { v: 99 }));

  t.not(run.code, 0);
  t.notMatch(run.stderr, CUT_OFF);
  t.match(run.stderr, /restart the daemon/);
});

t.test('a cut-off whose deadline is no sane time leaves the time out', async (t) => {
  for (const untilMs of [-1e16, 0, 'soon', 8.64e15]) {
    const run = await getFrom(t, cutOffReply({ pid: 4242, untilMs }));

    t.not(run.code, 0);
    t.match(
      run.stderr,
      `(pid 4242) on '`,
      `${String(untilMs)}: still reported as a cut-off by that daemon`,
    );
    t.match(
      run.stderr,
      `${CUT_OFF}: its shutdown deadline passed with the request still in flight`,
    );
    t.notMatch(run.stderr, /Invalid|\(\d\d:\d\d:\d\d\)/);
  }
});

t.test('a cut-off deadline today shows its time; another day also its date', async (t) => {
  const nowMs = Date.now();
  const today = await getFrom(t, cutOffReply({ pid: 4242, untilMs: nowMs }));
  const earlier = Date.UTC(2024, 2, 5, 12, 0, 0);
  const otherDay = await getFrom(t, cutOffReply({ pid: 4242, untilMs: earlier }));

  const time = new Date(nowMs).toTimeString().slice(0, 8);
  t.match(today.stderr, `its shutdown deadline (${time}) passed`);
  t.match(otherDay.stderr, /its shutdown deadline \(2024-03-0[456] \d\d:\d\d:\d\d\) passed/);
});

t.test('deadlineText: a time today, a date otherwise, nothing for no sane time', async (t) => {
  const nowMs = Date.UTC(2026, 5, 15, 12, 0, 0);
  const local = new Date(nowMs);
  const startOfDay = new Date(local.getFullYear(), local.getMonth(), local.getDate()).getTime();

  t.equal(
    deadlineText(startOfDay + 1000, nowMs),
    new Date(startOfDay + 1000).toTimeString().slice(0, 8),
  );
  t.match(deadlineText(startOfDay - 1000, nowMs) ?? '', /^\d{4}-\d\d-\d\d 23:59:59$/);
  t.equal(deadlineText(0, nowMs), undefined);
  t.equal(deadlineText(-1e16, nowMs), undefined);
  t.equal(deadlineText(Number.NaN, nowMs), undefined);
  t.equal(deadlineText(nowMs + 10 * 366 * 24 * 3600 * 1000, nowMs), undefined);
});
