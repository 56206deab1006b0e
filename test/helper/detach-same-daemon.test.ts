/**
 * `daemon --detach` leaves a running daemon alone only when it is the one
 * it would start: the same config file, as that file reads now, and this
 * release. Otherwise it says what differs and what to do.
 */
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { cli, fakeDaemon, world } from '../fixtures/cli-world.js';
import { runHelper } from '../fixtures/run-helper.js';
import { configSha256 } from '../../shared/config-digest.js';

t.test('a config edited since the daemon loaded it is named, with reload as the fix', async (t) => {
  const w = await world(t);
  const env = { XDG_STATE_HOME: join(w.dir, 'state') };
  const detach = () => cli(w, ['daemon', '--detach', '--config', w.daemon.configPath], env);
  const same = await detach();
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as {
    integrations: Record<string, unknown>[];
  };
  config.integrations[0]!['name'] = 'renamed';
  await writeFile(w.daemon.configPath, JSON.stringify(config));

  const edited = await detach();
  const reload = await cli(w, ['reload']);
  const reloaded = await detach();

  t.equal(same.code, 0, same.stderr);
  t.match(same.stdout, /nothing to start/);
  t.equal(edited.code, 1);
  t.match(
    edited.stderr,
    `with config '${w.daemon.configPath}', but '${w.daemon.configPath}' has changed since the daemon loaded it; nothing was started: run git-credential-broker reload --socket ${w.daemon.socketPath} to apply it`,
  );
  t.equal(edited.stdout, '');
  t.equal(reload.code, 0, reload.stderr);
  t.equal(reloaded.code, 0, reloaded.stderr);
  t.match(reloaded.stdout, /nothing to start/, 'the reloaded daemon serves the file as it reads');
});

t.test('every difference is named at once: config path and release', async (t) => {
  const w = await world(t);
  const env = { XDG_STATE_HOME: join(w.dir, 'state') };
  const other = join(w.dir, 'other.json');
  await writeFile(other, await readFile(w.daemon.configPath));
  const status = JSON.parse((await cli(w, ['status', '--json'])).stdout) as Record<string, unknown>;
  // The real daemon's status, as a daemon of an older release would give it.
  const older = await fakeDaemon(t, {
    v: 1,
    ok: true,
    status: { ...status, version: '0.0.9', configSha256: configSha256(Buffer.from('{}')) },
  });

  const run = await runHelper(['daemon', '--detach', '--config', other, '--socket', older], '', {
    ...w.env,
    ...env,
  });
  const sameFile = await runHelper(
    ['daemon', '--detach', '--config', w.daemon.configPath, '--socket', older],
    '',
    { ...w.env, ...env },
  );

  t.equal(run.code, 1);
  t.match(
    run.stderr,
    /version 0\.0\.9\) is already running .*, but this command was given '.*other\.json', and this command is version \d+\.\d+\.\d+; nothing was started: stop it first \(git-credential-broker stop --socket .*\), then start this one/,
  );
  t.equal(sameFile.code, 1);
  t.match(
    sameFile.stderr,
    /but '.*broker\.json' has changed since the daemon loaded it, and this command is version [^;]*; nothing was started: stop it first/,
    'reload is no fix when the release differs too',
  );
});

t.test(
  'a daemon whose last reload needs a restart is named as one to restart, not as the same',
  async (t) => {
    const w = await world(t);
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const detach = () => cli(w, ['daemon', '--detach', '--config', w.daemon.configPath], env);
    const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as Record<
      string,
      unknown
    >;
    await writeFile(
      w.daemon.configPath,
      JSON.stringify({ ...config, auditLog: join(w.dir, 'moved-audit.log') }),
    );
    const reload = await cli(w, ['reload']);
    const afterReload = await detach();
    // A refused reload after it changes nothing: the daemon still runs the old audit log.
    await writeFile(w.daemon.configPath, '{ not json');
    const refused = await cli(w, ['reload']);
    await writeFile(
      w.daemon.configPath,
      JSON.stringify({ ...config, auditLog: join(w.dir, 'moved-audit.log') }),
    );
    const afterRefused = await detach();

    t.equal(reload.code, 1, 'reload itself says a restart is needed');
    t.equal(afterReload.code, 1);
    t.match(
      afterReload.stderr,
      /is already running .*, but its last reload read changes that only a restart applies: auditLog \(still writing to '.*'\); nothing was started: stop it first \(git-credential-broker stop --socket .*\), then start this one/,
    );
    t.equal(afterReload.stdout, '');
    t.equal(refused.code, 1);
    t.equal(afterRefused.code, 1);
    t.match(afterRefused.stderr, /its last reload read changes that only a restart applies/);
  },
);

t.test('a symbolic link to the daemon config is that config', async (t) => {
  const w = await world(t);
  const env = { XDG_STATE_HOME: join(w.dir, 'state') };
  const link = join(w.dir, 'link.json');
  await symlink(w.daemon.configPath, link);

  const run = await cli(w, ['daemon', '--detach', '--config', link], env);

  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /nothing to start/);
});
