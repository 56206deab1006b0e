/**
 * A detached daemon logs to a file of its own socket's, or to --log-file:
 * two detached daemons no longer share one daemon.log.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { defaultDaemonLogPath } from '../../shared/daemon-log-path.js';
import { cli, world } from '../fixtures/cli-world.js';
import { newDaemonSocketPath } from '../fixtures/daemon-process.js';
import { runHelper } from '../fixtures/run-helper.js';

interface LogRecord {
  msg?: string;
  pid?: number;
  socket?: string;
}

async function records(path: string): Promise<LogRecord[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogRecord);
}

t.test('two detached daemons on two sockets write two logs, each its own', async (t) => {
  const w = await world(t);
  await w.daemon.stop();
  const env = { ...w.env, XDG_STATE_HOME: join(w.dir, 'state') };
  const sockets = [w.daemon.socketPath, await newDaemonSocketPath()];
  const detach = (socket: string, more: string[] = []) =>
    runHelper(
      ['daemon', '--detach', '--config', w.daemon.configPath, '--socket', socket, ...more],
      '',
      env,
    );
  for (const socket of sockets) {
    t.teardown(() => runHelper(['stop', '--socket', socket], '', env));
  }

  const runs = [await detach(sockets[0]!), await detach(sockets[1]!)];

  const logs = sockets.map((socket) => defaultDaemonLogPath(env, socket));
  t.not(logs[0], logs[1]);
  for (const [i, run] of runs.entries()) {
    t.equal(run.code, 0, run.stderr);
    t.match(run.stdout, `on ${sockets[i]}; its log: ${logs[i]}\n`);
    const listening = (await records(logs[i]!)).filter((r) => r.msg === 'daemon listening');
    t.same(
      listening.map((r) => r.socket),
      [sockets[i]],
      'its log holds its own daemon and no other',
    );
  }
});

t.test('--log-file names the detached daemon log; without --detach it is refused', async (t) => {
  const w = await world(t);
  await w.daemon.stop();
  const env = { XDG_STATE_HOME: join(w.dir, 'state') };
  const logFile = join(w.dir, 'logs', 'mine.log');
  t.teardown(() => cli(w, ['stop'], env));

  const started = await cli(
    w,
    ['daemon', '--detach', '--config', w.daemon.configPath, '--log-file', logFile],
    env,
  );
  const foreground = await cli(w, ['daemon', '--log-file', logFile], env);

  t.equal(started.code, 0, started.stderr);
  t.match(started.stdout, `; its log: ${logFile}\n`);
  t.match(
    (await records(logFile)).map((r) => r.msg),
    ['daemon listening'],
    'the daemon logs there',
  );
  t.equal(foreground.code, 2, foreground.stderr);
  t.match(
    foreground.stderr,
    '--log-file is for --detach: in the foreground the daemon logs to stderr',
  );
});
