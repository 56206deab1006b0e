/**
 * What the helper prints in text mode from a daemon's answer passes
 * printable(): a fake or compromised process on the socket cannot put an
 * escape sequence on the user's terminal or forge a line of output. JSON
 * output keeps the daemon's strings, escaped by JSON.
 */
import t from 'tap';
import { fakeDaemon } from '../fixtures/cli-world.js';
import { runHelper } from '../fixtures/run-helper.js';
import { VERSION } from '../../shared/version.js';

/** Everything a terminal acts on, or that reads as a line of its own. */
const HOSTILE = '\u001b[2J\u001b]0;owned\u0007\r\nFORGED: line\u2028\u202e\u009b';
// eslint-disable-next-line no-control-regex -- what must not be printed
const UNPRINTABLE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/;

/** A status of this release's shape; `s` goes into every string it holds. */
function statusWith(s: string) {
  return {
    version: VERSION,
    pid: 4242,
    startedAtMs: 0,
    socket: `/run/${s}.sock`,
    config: `/etc/${s}.json`,
    auditLog: `/var/log/${s}.log`,
    counters: { hits: 0, misses: 0, mints: 0, denied: 0, errors: 0 },
    lastReload: {
      count: 1,
      requestedAtMs: 0,
      atMs: 0,
      ok: true,
      needsRestart: [`listeners ${s}`],
      warnings: [`warning ${s}`],
    },
    integrations: [
      {
        name: `n${s}`,
        provider: `p${s}`,
        host: `h${s}`,
        api: { origin: `o${s}`, proxy: 'none', excludedBy: `e${s}`, proxyVariable: `v${s}` },
      },
    ],
    listeners: [{ socket: `/l${s}`, allow: [`a${s}`], permissions: { [`c${s}`]: `r${s}` } }],
    cache: [
      {
        integration: `i${s}`,
        repository: `r${s}`,
        permissions: { [`c${s}`]: `r${s}` },
        expiresAtMs: 0,
        staleAtMs: 0,
      },
    ],
  };
}

t.test('status in text prints every daemon string printable, one line each', async (t) => {
  const hostile = await fakeDaemon(t, { v: 1, ok: true, status: statusWith(HOSTILE) });
  const plain = await fakeDaemon(t, { v: 1, ok: true, status: statusWith('x') });

  const run = await runHelper(['status', '--socket', hostile], '', process.env);
  const clean = await runHelper(['status', '--socket', plain], '', process.env);
  const json = await runHelper(['status', '--json', '--socket', hostile], '', process.env);

  t.equal(run.code, 0, run.stderr);
  t.notMatch(run.stdout, UNPRINTABLE);
  t.equal(
    run.stdout.split('\n').length,
    clean.stdout.split('\n').length,
    'no line forged: as many lines as a status without them',
  );
  t.notMatch(run.stdout, /^FORGED/m);
  t.match(run.stdout, /config: +\/etc\/\?\[2J\?\]0;owned\?\?\?FORGED: line\?\?\?\.json/);
  t.equal(json.code, 0, json.stderr);
  t.equal(
    (JSON.parse(json.stdout) as { config: string }).config,
    `/etc/${HOSTILE}.json`,
    'JSON keeps the string; escaping it is JSON’s job',
  );
  t.notMatch(json.stdout, UNPRINTABLE);
});

t.test("a daemon's refusal is relayed on one printable line", async (t) => {
  const socket = await fakeDaemon(t, {
    v: 1,
    ok: false,
    error: { code: 'DENIED', message: `no${HOSTILE}`, quit: true },
  });
  const commands = [['status'], ['stop'], ['token', 'acme/widgets'], ['reload']];

  for (const command of commands) {
    const run = await runHelper([...command, '--socket', socket], '', process.env);

    t.equal(run.code, 1, command.join(' '));
    t.equal(run.stderr.split('\n').length, 2, `${command.join(' ')}: one line`);
    t.notMatch(run.stderr, UNPRINTABLE, command.join(' '));
  }
  const get = await runHelper(
    ['get', '--socket', socket],
    'protocol=https\nhost=github.com\npath=acme/widgets\n\n',
    process.env,
  );
  t.equal(get.stdout, 'quit=1\n');
  t.equal(get.stderr.split('\n').length, 2, 'get: one line');
  t.notMatch(get.stderr, UNPRINTABLE);
});

t.test('token refuses a token holding control characters, as text and as JSON', async (t) => {
  const credential = {
    username: 'x-access-token',
    secret: `ghs_${'a'.repeat(36)}\u001b]52;c;ZXZpbA==\u0007`,
    expiresAtMs: Date.now() + 3_600_000,
    granted: { repositories: ['widgets'], permissions: { contents: 'read' } },
    cached: false,
  };
  const socket = await fakeDaemon(t, { v: 1, ok: true, credential });

  const text = await runHelper(['token', 'acme/widgets', '--socket', socket], '', process.env);
  const json = await runHelper(
    ['token', 'acme/widgets', '--json', '--socket', socket],
    '',
    process.env,
  );

  // As git's get refuses it (reply-shape.test.ts): found in review, --json
  // printed what get handed git, and text refused it.
  const expected = "sent a credential reply whose 'secret' holds control or invisible characters";
  t.equal(text.code, 1);
  t.equal(text.stdout, '', 'nothing printed');
  t.match(text.stderr, expected);
  t.equal(json.code, 1);
  t.match(JSON.parse(json.stdout), { error: expected, code: 'VERSION_MISMATCH' });
  t.notOk(json.stdout.includes('ZXZpbA'), 'the token is not in the report');
});
