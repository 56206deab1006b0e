/**
 * A detached daemon logs to a file of its own socket's, or to --log-file:
 * two detached daemons no longer share one daemon.log.
 */
import { existsSync } from 'node:fs';
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

t.test(
  '--log-file on a socket where a daemon already runs says it was not applied, where that daemon logs, and how to apply it',
  async (t) => {
    const w = await world(t);
    await w.daemon.stop();
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const first = join(w.dir, 'logs', 'first.log');
    const other = join(w.dir, 'logs', 'other.log');
    const detach = (logFile: string) =>
      cli(w, ['daemon', '--detach', '--config', w.daemon.configPath, '--log-file', logFile], env);
    t.teardown(() => cli(w, ['stop'], env));
    const started = await detach(first);

    const again = await detach(other);
    const same = await detach(first);

    t.equal(started.code, 0, started.stderr);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /is already running on .*; nothing to start\n/);
    t.match(
      again.stdout,
      new RegExp(
        `warning: --log-file '${other}' was not applied, since a daemon already runs on '${w.daemon.socketPath}': the daemon \\(pid \\d+\\) keeps logging to '${first}'; to log to '${other}', stop it \\(git-credential-broker stop --socket ${w.daemon.socketPath}, or kill -TERM \\d+ if its sockets refuse stop\\), then run this command again\n`,
      ),
    );
    t.notOk(existsSync(other), 'nothing was written to the file that was not applied');
    t.equal(same.code, 0, same.stderr);
    t.notMatch(same.stdout, /warning/, 'the file it logs to already is no news');
  },
);

t.test(
  '--log-file on a socket whose daemon runs in the foreground says where it logs cannot be told',
  async (t) => {
    const w = await world(t);
    const logFile = join(w.dir, 'logs', 'wanted.log');

    const detach = await cli(w, [
      'daemon',
      '--detach',
      '--config',
      w.daemon.configPath,
      '--log-file',
      logFile,
    ]);

    t.equal(detach.code, 0, detach.stderr);
    t.match(
      detach.stdout,
      `warning: --log-file '${logFile}' was not applied, since a daemon already runs on '${w.daemon.socketPath}': where the daemon (pid ${w.daemon.pid}) logs cannot be told here (one run in the foreground logs to its stderr)`,
    );
  },
);
