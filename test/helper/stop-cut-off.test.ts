/**
 * `stop` says what its shutdown does to requests in flight: how many there
 * were, and how many it cut off when its time ran out. A real detached
 * daemon (its log a file, where the shutdown says what it cut off), and a
 * mint held at the fixture GitHub longer than the shutdown may take.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { defaultDaemonLogPath } from '../../shared/daemon-log-path.js';
import { cli, world } from '../fixtures/cli-world.js';
import { requestInFlight } from '../fixtures/drain.js';

t.test(
  'stop names the request its shutdown cut off, and that its client got an error',
  async (t) => {
    const w = await world(t);
    await w.daemon.stop();
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as object;
    await writeFile(w.daemon.configPath, JSON.stringify({ ...config, shutdownTimeoutSeconds: 1 }));
    const started = await cli(w, ['daemon', '--detach', '--config', w.daemon.configPath], env);
    t.teardown(() => cli(w, ['stop'], env));
    const { inFlight } = await requestInFlight(w, 5000);

    const stop = await cli(w, ['stop'], env);
    const cutOff = await inFlight;
    const log = await readFile(defaultDaemonLogPath(env, w.daemon.socketPath), 'utf8');

    t.equal(started.code, 0, started.stderr);
    t.equal(stop.code, 0, stop.stderr);
    t.match(
      stop.stdout,
      `answers the 1 request in flight first: any still unanswered after 1 s (its shutdownTimeoutSeconds) is cut off\ndaemon on ${w.daemon.socketPath} stopped\nits shutdown ran out of time and cut off 1 request in flight: each of their clients got an error`,
    );
    t.not(cutOff.code, 0, 'the cut-off client got an error');
    t.match(
      cutOff.stderr,
      `on '${w.daemon.socketPath}' stopped before it could answer this request: its shutdown deadline`,
      'and says the shutdown cut it off',
    );
    t.notMatch(cutOff.stderr, /another program there is no broker daemon/);
    t.match(log, /"cutOff":1,.*each of their clients gets an error/);
    t.notMatch(log, /get no answer/);
  },
);

t.test(
  'a daemon started with --log-file elsewhere: stop reads its cut-off count there, and names that log',
  async (t) => {
    const w = await world(t);
    await w.daemon.stop();
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const logFile = join(w.dir, 'elsewhere', 'broker.log');
    const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as object;
    await writeFile(w.daemon.configPath, JSON.stringify({ ...config, shutdownTimeoutSeconds: 1 }));
    const started = await cli(
      w,
      ['daemon', '--detach', '--config', w.daemon.configPath, '--log-file', logFile],
      env,
    );
    t.teardown(() => cli(w, ['stop'], env));
    const { inFlight } = await requestInFlight(w, 5000);

    const stop = await cli(w, ['stop'], env);
    await inFlight;

    t.equal(started.code, 0, started.stderr);
    t.equal(stop.code, 0, stop.stderr);
    t.match(
      stop.stdout,
      `its shutdown ran out of time and cut off 1 request in flight: each of their clients got an error (git may have asked another helper, or failed); see '${logFile}'`,
    );
  },
);

t.test('stop with nothing in flight says nothing of requests', async (t) => {
  const w = await world(t);

  const stop = await cli(w, ['stop']);

  t.equal(stop.code, 0, stop.stderr);
  t.equal(stop.stdout, `daemon on ${w.daemon.socketPath} stopped\n`);
});
