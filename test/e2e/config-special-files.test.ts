/**
 * Paths a config names that are not regular files (a FIFO, a device, a
 * file far too large, the config file itself a FIFO) are refused with the
 * key and the path, and none wedges the daemon. Found in review: a reload
 * naming a FIFO blocked a libuv thread in open(2) forever, every later
 * reload timed out behind it, and SIGTERM logged "daemon stopped" but the
 * process could not exit until something opened the FIFO.
 */
import { execFileSync } from 'node:child_process';
import { readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import t from 'tap';
import { createBrokerWorld } from '../fixtures/broker-world.js';
import { newDaemonSocketPath, startDaemonProcess } from '../fixtures/daemon-process.js';
import { runHelper } from '../fixtures/run-helper.js';

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

t.test(
  'a reload naming a FIFO, a device or a huge key is refused, and the daemon still reloads and exits',
  async (t) => {
    const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
    t.teardown(() => w.stop());
    const good = await readFile(w.daemon.configPath, 'utf8');
    const config = JSON.parse(good) as { integrations: Record<string, unknown>[] };
    const withKey = (privateKeyPath: string): string =>
      JSON.stringify({
        ...config,
        integrations: [{ ...config.integrations[0], privateKeyPath }],
      });
    const reload = () => runHelper(['reload', '--socket', w.daemon.socketPath], '', w.env);
    const fifo = join(w.dir, 'key.fifo');
    mkfifo(fifo);
    const linkToFifo = join(w.dir, 'key-link.pem');
    await symlink(fifo, linkToFifo);
    const huge = join(w.dir, 'huge.pem');
    await writeFile(huge, 'x'.repeat(65 * 1024));

    const outcomes: Record<string, Awaited<ReturnType<typeof reload>>> = {};
    for (const [name, path] of [
      ['fifo', fifo],
      ['link to a fifo', linkToFifo],
      ['/dev/zero', '/dev/zero'],
      ['huge', huge],
    ] as const) {
      await writeFile(w.daemon.configPath, withKey(path));
      outcomes[name] = await reload();
    }
    await writeFile(w.daemon.configPath, good);
    const fine = await reload();

    for (const [name, what] of [
      [
        'fifo',
        /private key '.*key\.fifo' named by integrations\[0\]\.privateKeyPath is a named pipe \(FIFO\)/,
      ],
      ['link to a fifo', /private key '.*key-link\.pem' named by .* is a named pipe \(FIFO\)/],
      ['/dev/zero', /private key '\/dev\/zero' named by .* is a character device/],
      ['huge', /private key '.*huge\.pem' named by .* is larger than 64 KiB/],
    ] as const) {
      t.equal(outcomes[name]!.code, 1, `${name}: refused`);
      t.match(outcomes[name]!.stderr, what, `${name}: says what the path is`);
    }
    t.equal(fine.code, 0, `a later reload is not stuck behind one: ${fine.stderr}`);

    const startedAtMs = Date.now();
    w.daemon.signal('SIGTERM');
    const code = await w.daemon.exited;
    t.equal(code, 0, 'exits on SIGTERM');
    t.ok(Date.now() - startedAtMs < 10_000, 'without anything opening the FIFO');
  },
);

t.test('a config file that is a FIFO is refused on reload without wedging', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  const reload = () => runHelper(['reload', '--socket', w.daemon.socketPath], '', w.env);
  await rename(w.daemon.configPath, `${w.daemon.configPath}.saved`);
  mkfifo(w.daemon.configPath);

  const refused = await reload();
  await rename(`${w.daemon.configPath}.saved`, w.daemon.configPath);
  const fine = await reload();

  t.equal(refused.code, 1);
  t.match(
    refused.stderr,
    /config file '.*broker\.json' is a named pipe \(FIFO\), not a regular file/,
  );
  t.equal(fine.code, 0, fine.stderr);
});

t.test('the helper reads no FIFO as its config (autostart, configure, --detach)', async (t) => {
  const dir = t.testdir();
  const configPath = join(dir, 'config.json');
  mkfifo(configPath);
  const env = {
    ...process.env,
    HOME: dir,
    XDG_RUNTIME_DIR: join(dir, 'run'),
    XDG_STATE_HOME: join(dir, 'state'),
    GIT_CREDENTIAL_BROKER_CONFIG: configPath,
    GIT_CREDENTIAL_BROKER_SOCKET: await newDaemonSocketPath(),
  };
  t.teardown(() => rm(dirname(dirname(env.GIT_CREDENTIAL_BROKER_SOCKET)), { recursive: true }));

  // get with no daemon reads the config for "autostart": a FIFO blocked it.
  const get = await runHelper(['get'], 'protocol=https\nhost=github.com\n\n', env);
  const detach = await runHelper(['daemon', '--detach', '--config', configPath], '', env);

  // Reaching these lines is the test: the read of a FIFO never returned.
  t.match(get.stderr, /no broker daemon/, `get says what is wrong: ${get.stderr}`);
  t.not(detach.code, 0);
  t.match(detach.stderr, /is a named pipe \(FIFO\)/);
});

t.test('an audit log that is a FIFO is refused at start, not waited on', async (t) => {
  const dir = t.testdir();
  const auditLog = join(dir, 'audit.fifo');
  mkfifo(auditLog);

  const started = startDaemonProcess(dir, {
    auditLog,
    integrations: [{ provider: 'command', host: 'git.example.test', command: ['/bin/true'] }],
  });

  await t.rejects(
    started,
    /cannot open audit log '.*audit\.fifo': it is a named pipe \(FIFO\)|ENXIO/,
  );
});
