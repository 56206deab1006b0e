/**
 * status, stop and daemon (--detach), run as a user would: the built binary
 * against a real daemon, the GitHub-compatible server and real git.
 */
import { chmodSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { defaultDaemonLogPath } from '../../shared/daemon-log-path.js';
import type { BrokerWorld } from '../fixtures/broker-world.js';
import { assertNoSecrets, privateKeyFragments } from '../fixtures/leak-scan.js';
import { cli, fakeDaemon, world } from '../fixtures/cli-world.js';
import { recordSecrets } from '../fixtures/leak-ledger.js';
import { runHelper } from '../fixtures/run-helper.js';
import { VERSION } from '../../shared/version.js';

function secretsOf(w: BrokerWorld): string[] {
  return [...w.github.issuedTokens(), ...privateKeyFragments(w.app.privateKeyPem)];
}

/** What status --json must print for a daemon of another release: what the text says. */
function mismatchReport(version: string | null, socket: string, stderr: string) {
  return {
    running: true,
    versionMismatch: true,
    version,
    helperVersion: VERSION,
    socket,
    error: stderr.replace(/^git-credential-broker: /, '').trimEnd(),
    code: 'VERSION_MISMATCH',
  };
}

t.test('status shows integrations, cached repositories and counters, never a token', async (t) => {
  const w = await world(t);
  await cli(w, ['token', w.cloneUrl('widgets')]);
  await cli(w, ['token', w.cloneUrl('widgets')]);

  const text = await cli(w, ['status']);
  const json = await cli(w, ['status', '--json']);
  const status = JSON.parse(json.stdout) as Record<string, unknown>;

  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /daemon: +running, version \d+\.\d+\.\d+/);
  t.match(
    text.stdout,
    new RegExp(`local-github \\(github-app\\) for ${w.github.host.replace('.', '\\.')}`),
  );
  t.match(text.stdout, /acme\/widgets \[contents:write\] via local-github: served for \d+m/);
  t.match(text.stdout, /hits 1, misses 1, mints 1, denied 0, errors 0/);
  t.match(
    text.stdout,
    /listeners:\n {2}.*daemon\.sock: any repository; at most the integration's permissions/,
  );
  t.notMatch(text.stdout, /FAILING/);
  t.match(status, {
    auditLogFailing: false,
    counters: { hits: 1, misses: 1, mints: 1, denied: 0, errors: 0 },
    cache: [{ repository: 'acme/widgets' }],
  });
  assertNoSecrets(t, { status: text.stdout, statusJson: json.stdout }, secretsOf(w));
});

t.test('status with no daemon says so in one line; stop then has nothing to do', async (t) => {
  const w = await world(t);
  await w.daemon.stop();

  const status = await cli(w, ['status']);
  const stop = await cli(w, ['stop']);
  const again = await cli(w, ['stop']);

  t.equal(status.code, 1);
  t.match(
    status.stderr,
    /^git-credential-broker: no broker daemon is listening at '.*'; start it with/,
  );
  t.equal(status.stderr.trim().split('\n').length, 1);
  // A defensive stop script must not fail because the daemon was down.
  t.equal(stop.code, 0, stop.stderr);
  t.equal(stop.stdout, `no broker daemon was running on '${w.daemon.socketPath}'\n`);
  t.equal(again.code, 0, again.stderr);
});

t.test('status --json prints a JSON object on stdout whether or not a daemon runs', async (t) => {
  const w = await world(t);

  const up = await cli(w, ['status', '--json']);
  // Found in review: a repeated option reached the code as an array (a
  // TypeError, exit 1). The last value counts.
  const twice = await runHelper(
    ['status', '--json', '--socket', '/nowhere/d.sock', '--socket', w.daemon.socketPath],
    '',
    w.env,
  );
  await w.daemon.stop();
  const down = await cli(w, ['status', '--json']);
  const malformed = await runHelper(['status', '--json', '--socket='], '', w.env);

  t.equal(up.code, 0, up.stderr);
  t.match(JSON.parse(up.stdout), {
    running: true,
    versionMismatch: false,
    helperVersion: VERSION,
    version: VERSION,
    socket: w.daemon.socketPath,
    pid: Number,
  });
  t.equal(twice.code, 0, twice.stderr);
  t.match(JSON.parse(twice.stdout), { running: true, socket: w.daemon.socketPath });
  t.equal(down.code, 1);
  t.same(JSON.parse(down.stdout), {
    running: false,
    socket: w.daemon.socketPath,
    error: down.stderr.replace(/^git-credential-broker: /, '').trimEnd(),
    code: 'DAEMON_UNREACHABLE',
  });
  t.match(down.stderr, /no broker daemon is listening at/);
  t.equal(malformed.code, 2);
  t.match(JSON.parse(malformed.stdout), {
    running: false,
    error: /--socket was given an empty path/,
    code: 'BAD_REQUEST',
  });
});

/** A status of the shape this release prints, from a daemon of another release. */
const OTHER_RELEASE_STATUS = {
  version: '0.0.9',
  pid: 4242,
  startedAtMs: 1,
  socket: '/run/d.sock',
  config: '/etc/broker.json',
  auditLog: '/var/log/audit.log',
  integrations: [],
  cache: [],
  counters: { hits: 0, misses: 0, mints: 0, denied: 0, errors: 0 },
};

t.test('status --json says running: true whatever the status itself holds', async (t) => {
  // Found in review: a status holding "running": false overrode it.
  const socketPath = await fakeDaemon(t, {
    v: 1,
    ok: true,
    status: { ...OTHER_RELEASE_STATUS, running: false, versionMismatch: false },
  });
  const status = await runHelper(['status', '--json', '--socket', socketPath], '', process.env);
  t.equal(status.code, 0, status.stderr);
  t.same(JSON.parse(status.stdout), {
    running: true,
    versionMismatch: true,
    helperVersion: VERSION,
    ...OTHER_RELEASE_STATUS,
  });
});

t.test('status --json prints a JSON object for a command-line mistake too', async (t) => {
  // Found in review: a mistake yargs caught printed no JSON at all.
  for (const args of [
    ['status', '--json', '--bogus'],
    ['status', '--json', 'extra'],
    ['status', '--json', '--', 'x'],
    ['status', '--json=true', '--socket=/tmp/gcb-none.sock', '--bogus'],
  ]) {
    const run = await runHelper(args, '', process.env);
    const name = args.join(' ');
    t.equal(run.code, 2, `${name}: ${run.stderr}`);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    t.match(report, { running: false, code: 'BAD_REQUEST' }, name);
    t.type(report.error, 'string');
    t.ok(run.stderr.includes(report.error as string), `${name}: the same reason on stderr`);
  }
  const withSocket = await runHelper(
    ['status', '--json', '--socket', '/tmp/gcb-none.sock', '--bogus'],
    '',
    process.env,
  );
  t.equal(JSON.parse(withSocket.stdout).socket, '/tmp/gcb-none.sock');
  const plain = await runHelper(['status', '--bogus'], '', process.env);
  t.equal(plain.stdout, '', 'without --json, nothing on stdout');
});

t.test(
  'a daemon that cannot read status or stop (another release) exits 1 and says to restart it',
  async (t) => {
    // Found in review: the daemon's BAD_REQUEST made these exit 2, the code
    // for a malformed command line, though the command line was fine.
    const skewed =
      'unsupported protocol version 1 in request; helper and daemon must come from the same release, restart the daemon after upgrading';
    const versionSkew = await fakeDaemon(t, {
      v: 1,
      ok: false,
      error: { code: 'BAD_REQUEST', message: skewed, quit: true },
    });
    const unknownOp = await fakeDaemon(t, {
      v: 1,
      ok: false,
      error: { code: 'BAD_REQUEST', message: "unknown request op 'status'", quit: true },
    });
    for (const command of [['status'], ['status', '--json'], ['stop'], ['reload']]) {
      const run = await runHelper([...command, '--socket', versionSkew], '', process.env);
      const name = command.join(' ');
      t.equal(run.code, 1, `${name}: ${run.stderr}`);
      t.match(run.stderr, `did not accept the '`, name);
      t.equal(run.stderr.match(/restart the daemon/g)?.length, 1, `${name}: the fix, once`);
    }

    const status = await runHelper(['status', '--socket', unknownOp], '', process.env);
    t.equal(status.code, 1, status.stderr);
    t.match(
      status.stderr,
      "unknown request op 'status'; helper and daemon must come from the same release: restart the daemon after upgrading",
    );
  },
);

t.test(
  'status of a daemon of another release says it runs, both versions and the fix, in text and JSON alike',
  async (t) => {
    // Found in a trial: status --json said "running": true with the code
    // DAEMON_UNREACHABLE, and a reply of another protocol version "running": false.
    const refusing = (op: unknown) =>
      op === 'ping'
        ? { v: 1, ok: true, daemonVersion: '0.0.9' }
        : {
            v: 1,
            ok: false,
            error: { code: 'BAD_REQUEST', message: "unknown request op 'status'", quit: true },
          };
    const sockets = {
      refusing: await fakeDaemon(t, refusing),
      otherProtocol: await fakeDaemon(t, {
        v: 2,
        ok: false,
        error: { code: 'BAD_REQUEST', message: 'unsupported protocol version 1', quit: true },
      }),
    };

    for (const [name, socket] of Object.entries(sockets)) {
      const text = await runHelper(['status', '--socket', socket], '', process.env);
      const json = await runHelper(['status', '--json', '--socket', socket], '', process.env);
      const report = JSON.parse(json.stdout) as Record<string, unknown>;
      const version = name === 'refusing' ? '0.0.9' : null;

      t.equal(text.code, 1, `${name}: ${text.stderr}`);
      t.equal(json.code, 1, name);
      t.same(
        report,
        mismatchReport(version, socket, text.stderr),
        `${name}: the JSON says what the text says`,
      );
      t.match(
        text.stderr,
        `a broker daemon of another release runs on '${socket}' (${version === null ? 'its version unknown' : `version ${version}`}; this command is ${VERSION}): `,
        name,
      );
      t.equal(text.stderr.match(/restart the daemon/g)?.length, 1, `${name}: the fix, once`);
    }
  },
);

t.test('status of a daemon of another release that still answers it says so', async (t) => {
  const socket = await fakeDaemon(t, {
    v: 1,
    ok: true,
    status: {
      version: '0.0.9',
      pid: 4242,
      startedAtMs: Date.now(),
      socket: '/run/d.sock',
      config: '/etc/broker.json',
      auditLog: '/var/log/audit.log',
      integrations: [],
      cache: [],
      counters: { hits: 0, misses: 0, mints: 0, denied: 0, errors: 0 },
    },
  });

  const text = await runHelper(['status', '--socket', socket], '', process.env);
  const json = await runHelper(['status', '--json', '--socket', socket], '', process.env);

  t.equal(text.code, 0, text.stderr);
  t.match(
    text.stdout,
    `daemon:       running, version 0.0.9 (another release: this command is ${VERSION}; restart the daemon to run it), pid 4242`,
  );
  t.match(JSON.parse(json.stdout), {
    running: true,
    versionMismatch: true,
    version: '0.0.9',
    helperVersion: VERSION,
  });
});

t.test(
  'a status of another shape says a daemon of another release runs, with the fix, exit 1, never a TypeError',
  async (t) => {
    // Found in review: `{}` crashed the text output on `counters.hits`.
    const statuses: [string, unknown, string | null][] = [
      ['empty', {}, null],
      [
        'partial',
        { version: '9.9.9', pid: 'abc', integrations: 'x', cache: null, counters: 5 },
        '9.9.9',
      ],
      ['a string', 'hi', null],
      ['counters without hits', { version: '0.0.8', counters: {} }, '0.0.8'],
    ];
    for (const [name, status, version] of statuses) {
      const socket = await fakeDaemon(t, (op: unknown) =>
        op === 'status' ? { v: 1, ok: true, status } : { v: 1, ok: true },
      );

      const text = await runHelper(['status', '--socket', socket], '', process.env);
      const json = await runHelper(['status', '--json', '--socket', socket], '', process.env);

      t.equal(text.code, 1, `${name}: ${text.stderr}`);
      t.equal(text.stdout, '', name);
      t.match(
        text.stderr,
        `git-credential-broker: a broker daemon of another release runs on '${socket}' (${version === null ? 'its version unknown' : `version ${version}`}; this command is ${VERSION}): its status is not one this release reads (`,
        name,
      );
      t.notMatch(text.stderr, /TypeError|Cannot read properties/, name);
      t.equal(text.stderr.match(/restart the daemon/g)?.length, 1, `${name}: the fix, once`);
      t.equal(json.code, 1, name);
      t.same(JSON.parse(json.stdout), mismatchReport(version, socket, text.stderr));
    }
  },
);

t.test('a status of this version but not its shape says so, with the same fix', async (t) => {
  const socket = await fakeDaemon(t, { v: 1, ok: true, status: { version: VERSION } });

  const text = await runHelper(['status', '--socket', socket], '', process.env);

  t.equal(text.code, 1, text.stderr);
  t.match(
    text.stderr,
    `a broker daemon on '${socket}' says it is version ${VERSION}, as this command, but answers as another release: its status is not one this release reads (pid, `,
  );
});

t.test('stop returns once the daemon has exited, so a new one can start at once', async (t) => {
  // Found in review: stop said "stopped" once the socket went quiet, while
  // the daemon still answered a request in flight; daemon --detach then
  // found the socket locked.
  const w = await world(t);
  w.github.injectFault({
    method: 'POST',
    path: /\/app\/installations\/\d+\/access_tokens$/,
    status: 0,
    delayMs: 1500,
  });
  let exited = false;
  void w.daemon.exited.then(() => (exited = true));
  const inFlight = w.git(['ls-remote', w.cloneUrl('widgets')]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stop = await cli(w, ['stop']);
  const exitedWhenStopReturned = exited;
  await inFlight;

  t.equal(stop.code, 0, stop.stderr);
  t.ok(exitedWhenStopReturned, 'the daemon had exited when stop returned');
});

t.test('stop that cannot learn the daemon pid says so and fails, never "stopped"', async (t) => {
  // A daemon of an older release: no pid in its ping, and here none in its status either.
  const socketPath = await fakeDaemon(t, (op: unknown) =>
    op === 'status'
      ? { v: 1, ok: true, status: { version: VERSION, cache: [] } }
      : { v: 1, ok: true, daemonVersion: VERSION },
  );

  const stop = await runHelper(['stop', '--socket', socketPath], '', process.env);

  t.equal(stop.code, 1, stop.stderr);
  t.equal(stop.stdout, '');
  t.match(
    stop.stderr,
    `the daemon on '${socketPath}' was asked to stop, but whether it has exited cannot be told: its pid is unknown (the daemon reported a pid that is not a process id`,
  );
});

t.test('stop ends the daemon gracefully', async (t) => {
  const w = await world(t);

  const stop = await cli(w, ['stop']);
  const exitCode = await w.daemon.exited;

  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, /stopped/);
  t.equal(exitCode, 0, `the daemon exited cleanly (${String(exitCode)})`);
  t.match(w.daemon.output(), /daemon stopped/);
});

t.test(
  'daemon --detach returns once the daemon answers, and run again leaves it running',
  async (t) => {
    const w = await world(t);
    await w.daemon.stop();
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const args = ['daemon', '--detach', '--config', w.daemon.configPath];
    t.teardown(() => cli(w, ['stop'], env));

    const first = await cli(w, args, env);
    const status = await cli(w, ['status', '--json'], env);
    const second = await cli(w, args, env);
    const pid = (JSON.parse(status.stdout) as { pid: number }).pid;

    t.equal(first.code, 0, first.stderr);
    t.match(
      first.stdout,
      `daemon started (pid ${pid}) on ${w.daemon.socketPath}; its log: ${defaultDaemonLogPath(env, w.daemon.socketPath)}\n`,
    );
    t.equal(second.code, 0, second.stderr);
    t.equal(
      second.stdout,
      `a broker daemon (pid ${pid}, version ${VERSION}) is already running on '${w.daemon.socketPath}' with config '${w.daemon.configPath}'; nothing to start\n`,
    );
    const after = await cli(w, ['status', '--json'], env);
    t.equal((JSON.parse(after.stdout) as { pid: number }).pid, pid, 'the same daemon runs');
  },
);

t.test(
  'daemon --detach refuses a running daemon with another config, and a socket something else holds',
  async (t) => {
    const w = await world(t);
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const otherConfig = join(w.dir, 'other-config.json');
    await writeFile(otherConfig, await readFile(w.daemon.configPath));
    const dir = await mkdtemp(join(tmpdir(), 'gcb-held-'));
    chmodSync(dir, 0o700);
    const held = join(dir, 's.sock');
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.end('hello from something else\n');
    });
    await new Promise<void>((resolve) => server.listen(held, resolve));
    // Found in review: a fake answering status with the right config and
    // version was taken for a running daemon (exit 0, nothing started).
    const faked = join(dir, 'f.sock');
    const fake = createServer((socket) =>
      socket.once('data', () =>
        socket.end(
          `${JSON.stringify({ v: 1, ok: true, status: { pid: process.pid, version: VERSION, config: w.daemon.configPath } })}\n`,
        ),
      ),
    );
    await new Promise<void>((resolve) => fake.listen(faked, resolve));
    t.teardown(async () => {
      server.close();
      fake.close();
      await rm(dir, { recursive: true, force: true });
    });

    const otherConfigRun = await cli(w, ['daemon', '--detach', '--config', otherConfig], env);
    const heldRun = await runHelper(
      ['daemon', '--detach', '--config', w.daemon.configPath, '--socket', held],
      '',
      { ...w.env, ...env },
    );

    t.equal(otherConfigRun.code, 1);
    t.match(
      otherConfigRun.stderr,
      `already running on '${w.daemon.socketPath}' with config '${w.daemon.configPath}', but this command was given '${otherConfig}'; nothing was started: stop it first`,
    );
    t.equal(heldRun.code, 1);
    t.match(
      heldRun.stderr,
      `something answers on '${held}', but not in the broker's protocol (its answer is not JSON): it is no broker daemon of any release`,
    );
    t.equal(heldRun.stdout, '');
    const fakeRun = await runHelper(
      ['daemon', '--detach', '--config', w.daemon.configPath, '--socket', faked],
      '',
      { ...w.env, ...env },
    );
    t.equal(fakeRun.code, 1, fakeRun.stdout);
    // Its status lacks what a status of this release holds.
    t.match(
      fakeRun.stderr,
      /answers as a broker daemon of version .*, but not as this release does/,
    );
  },
);

t.test(
  'the daemon command exits 1 for a config problem, 2 for a malformed command line',
  async (t) => {
    const w = await world(t);
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const dir = await mkdtemp(join(tmpdir(), 'gcb-exit-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const missing = join(dir, 'missing.json');
    const socket = join(dir, 'd.sock');

    const foreground = await runHelper(['daemon', '--config', missing, '--socket', socket], '', {
      ...w.env,
      ...env,
    });
    const detached = await runHelper(
      ['daemon', '--detach', '--config', missing, '--socket', socket],
      '',
      { ...w.env, ...env },
    );
    const malformed = await runHelper(['daemon', '--socket='], '', { ...w.env, ...env });

    t.equal(foreground.code, 1, foreground.stderr);
    t.match(foreground.stderr, /config file '.*missing\.json' does not exist/);
    t.equal(detached.code, 1, detached.stderr);
    t.match(detached.stderr, /config file '.*missing\.json' does not exist/);
    t.equal(malformed.code, 2, malformed.stderr);
  },
);

t.test('daemon --detach shows what the new daemon warned about while starting', async (t) => {
  const w = await world(t);
  await w.daemon.stop();
  const env = { XDG_STATE_HOME: join(w.dir, 'state') };
  t.teardown(() => cli(w, ['stop'], env));
  chmodSync(w.app.privateKeyPath, 0o644);

  const started = await cli(w, ['daemon', '--detach', '--config', w.daemon.configPath], env);

  t.equal(started.code, 0, started.stderr);
  t.match(started.stdout, /^daemon started \(pid \d+\)/m);
  t.match(
    started.stdout,
    /^warning: private key '.*' is accessible to other users \(mode 644\); run: chmod 600 '.*'$/m,
  );
});

t.test('a daemon error code this release does not know never reaches the output', async (t) => {
  // Found in review: "VERSION_MISMATCH\u001b[31m" came out as is in status --json.
  const socket = await fakeDaemon(t, {
    v: 1,
    ok: false,
    error: { code: 'VERSION_MISMATCH\u001b[31m', message: 'evil msg', quit: true },
  });

  const status = await runHelper(['status', '--json', '--socket', socket], '', process.env);
  const token = await runHelper(['token', 'acme/x', '--json', '--socket', socket], '', process.env);

  t.equal(status.code, 1, status.stderr);
  t.match(JSON.parse(status.stdout), { code: 'INTERNAL', error: 'evil msg' });
  t.equal(token.code, 1, token.stderr);
  t.match(JSON.parse(token.stdout), { code: 'INTERNAL' });
  t.notOk(/\\u001b/.test(status.stdout + token.stdout), 'no escape, raw or in JSON');
  t.notOk((status.stdout + token.stdout).includes('\u001b'), 'nor a raw escape');
});

t.test('status --json redacts token-shaped text as text status does', async (t) => {
  // Found in review: text status redacted a token in a path, --json printed it whole.
  const token = `ghs_${'R'.repeat(36)}`;
  recordSecrets([token]);
  const socket = await fakeDaemon(t, (op: unknown) =>
    op === 'status'
      ? {
          v: 1,
          ok: true,
          status: {
            version: VERSION,
            pid: 4242,
            startedAtMs: Date.now(),
            socket: '/run/d.sock',
            config: `/etc/${token}.json`,
            auditLog: '/var/log/audit.log',
            integrations: [{ name: token, provider: 'github-app', host: 'github.com' }],
            cache: [],
            counters: { hits: 0, misses: 0, mints: 0, denied: 0, errors: 0 },
          },
        }
      : { v: 1, ok: true },
  );

  const text = await runHelper(['status', '--socket', socket], '');
  const json = await runHelper(['status', '--json', '--socket', socket], '');

  t.equal(json.code, 0, json.stderr);
  t.match(JSON.parse(json.stdout), { config: '/etc/[token removed].json' });
  for (const output of [text.stdout, json.stdout]) t.notOk(output.includes(token));
});
