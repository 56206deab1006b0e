/**
 * What is at the socket path, told apart by status, daemon and --detach:
 * a file that is no socket, a socket nobody listens on, a program that
 * does not speak the broker's protocol, a broker daemon of another release.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { fakeDaemon } from '../fixtures/cli-world.js';
import { runHelper } from '../fixtures/run-helper.js';

/** A private directory under /tmp (socket paths are short), with a config for a daemon. */
async function place(t: Test): Promise<{ dir: string; config: string; env: NodeJS.ProcessEnv }> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-diag-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'broker.json');
  await writeFile(
    config,
    JSON.stringify({
      auditLog: join(dir, 'audit.log'),
      integrations: [{ provider: 'command', host: 'example.com', command: ['/bin/false'] }],
    }),
  );
  const env = { ...process.env, XDG_STATE_HOME: join(dir, 'state'), HOME: dir };
  return { dir, config, env };
}

/** status, daemon in the foreground and daemon --detach on `socket`. */
async function runAll(socket: string, config: string, env: NodeJS.ProcessEnv) {
  return {
    status: await runHelper(['status', '--socket', socket], '', env),
    foreground: await runHelper(['daemon', '--config', config, '--socket', socket], '', env),
    detach: await runHelper(
      ['daemon', '--detach', '--config', config, '--socket', socket],
      '',
      env,
    ),
  };
}

t.test('a regular file at the socket path is named as one, never a stale socket', async (t) => {
  const { dir, config, env } = await place(t);
  const socket = join(dir, 'notes.txt');
  await writeFile(socket, 'keep me\n');

  const runs = await runAll(socket, config, env);

  t.equal(runs.status.code, 1);
  t.match(
    runs.status.stderr,
    `'${socket}' is a regular file, not a socket: the broker did not create it`,
  );
  t.match(
    runs.status.stderr,
    /move it away if nothing needs it, or give the broker another --socket path/,
  );
  t.equal(runs.foreground.code, 1);
  t.match(
    runs.foreground.stderr,
    /is not a socket but a regular file: the broker did not create it/,
  );
  t.equal(runs.detach.code, 1);
  t.match(runs.detach.stderr, /is a regular file, not a socket: .*; nothing was started/);
  for (const run of Object.values(runs)) t.notMatch(run.stderr, /stale|upgrad/);
  t.equal(await readFile(socket, 'utf8'), 'keep me\n', 'the file is untouched');
});

t.test('a socket nobody listens on is stale, and a daemon takes it over', async (t) => {
  const { dir, config, env } = await place(t);
  const socket = join(dir, 'd.sock');
  // A process that listens and is killed leaves its socket file behind.
  spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);

  const status = await runHelper(['status', '--socket', socket], '', env);
  const detach = await runHelper(
    ['daemon', '--detach', '--config', config, '--socket', socket],
    '',
    env,
  );
  t.teardown(() => runHelper(['stop', '--socket', socket], '', env));

  t.equal(status.code, 1);
  t.match(status.stderr, /is not running \(stale socket\)/);
  t.equal(detach.code, 0, detach.stderr);
  t.match(detach.stdout, /^daemon started/);
});

t.test('a program that does not speak the protocol is said to be no broker daemon', async (t) => {
  const { dir, config, env } = await place(t);
  const socket = join(dir, 'web.sock');
  const server = createServer((connection) => {
    connection.on('error', () => {});
    connection.once('data', () => connection.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const runs = await runAll(socket, config, env);

  t.equal(runs.status.code, 1);
  t.match(
    runs.status.stderr,
    `something answers on '${socket}', but not in the broker's protocol (its answer is not JSON): it is no broker daemon of any release`,
  );
  t.equal(runs.foreground.code, 1);
  t.match(
    runs.foreground.stderr,
    `something that is not a broker daemon is listening on '${socket}'`,
  );
  t.equal(runs.detach.code, 1);
  t.match(runs.detach.stderr, /not in the broker's protocol .*; nothing was started/);
  for (const run of Object.values(runs)) t.notMatch(run.stderr, /upgrad|restart the daemon|stale/);
});

t.test('a broker daemon of another release is named as one by --detach', async (t) => {
  const { config, env } = await place(t);
  const otherVersion = await fakeDaemon(t, { v: 2, ok: true });
  const otherShape = await fakeDaemon(t, (op: unknown) =>
    op === 'status' ? { v: 1, ok: true, status: { version: '0.0.1' } } : { v: 1, ok: true },
  );

  const status = await runHelper(['status', '--socket', otherVersion], '', env);
  const versionRun = await runHelper(
    ['daemon', '--detach', '--config', config, '--socket', otherVersion],
    '',
    env,
  );
  const shapeRun = await runHelper(
    ['daemon', '--detach', '--config', config, '--socket', otherShape],
    '',
    env,
  );

  t.equal(status.code, 1);
  t.match(status.stderr, /a broker daemon of another release runs on/);
  t.equal(versionRun.code, 1);
  t.match(
    versionRun.stderr,
    /a broker daemon of another release \(its version unknown; this is version /,
  );
  t.match(
    versionRun.stderr,
    /nothing was started: stop it first \(git-credential-broker stop --socket /,
  );
  t.equal(shapeRun.code, 1);
  t.match(
    shapeRun.stderr,
    /a broker daemon of another release \(version 0\.0\.1; this is version .*its status is not one this release reads/,
  );
});

t.test(
  '--detach reports a daemon failing status as failing, not as a policy refusal',
  async (t) => {
    // Found in review: every error answer was called "a listener of a running
    // broker daemon, with a client policy"; only a refusal (DENIED) is one.
    const { config, env } = await place(t);
    for (const code of ['INTERNAL', 'AUDIT', 'BAD_REQUEST']) {
      const socket = await fakeDaemon(t, (op: unknown) =>
        op === 'status'
          ? { v: 1, ok: false, error: { code, message: 'the audit log is full' } }
          : { v: 1, ok: true },
      );

      const detach = await runHelper(
        ['daemon', '--detach', '--config', config, '--socket', socket],
        '',
        env,
      );

      t.equal(detach.code, 1, code);
      t.match(
        detach.stderr,
        `a broker daemon on '${socket}' answered status with an error (${code}: the audit log is full); nothing was started`,
      );
      t.notMatch(detach.stderr, /client policy/);
    }
  },
);
