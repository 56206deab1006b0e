/**
 * Options mean the same before or after the command (cli.ts moves the
 * command word first): `--json status` against a real daemon reports it
 * running, and an option the command does not take is refused by name.
 */
import t from 'tap';
import { createBrokerWorld } from '../fixtures/broker-world.js';
import { runHelper } from '../fixtures/run-helper.js';

t.test('--json and --socket work before the command as after it', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  const socket = w.daemon.socketPath;
  const orders = [
    ['status', '--json', '--socket', socket],
    ['--json', 'status', '--socket', socket],
    ['--socket', socket, '--json', 'status'],
    ['--json', `--socket=${socket}`, 'status'],
  ];

  for (const args of orders) {
    const run = await runHelper(args, '', w.env);

    t.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    t.match(JSON.parse(run.stdout), { running: true, pid: w.daemon.pid }, args.join(' '));
  }
  const text = await runHelper(['--socket', socket, 'status'], '', w.env);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^daemon: +running/);
});

t.test('an option the command does not take is refused wherever it stands', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  const socket = w.daemon.socketPath;

  const before = await runHelper(['--json', 'stop', '--socket', socket], '', w.env);
  const after = await runHelper(['stop', '--json', '--socket', socket], '', w.env);
  const status = await runHelper(['status', '--socket', socket], '', w.env);

  for (const run of [before, after]) {
    t.equal(run.code, 2);
    t.match(run.stderr, /Unknown argument: json; see 'git-credential-broker stop --help'/);
    t.equal(run.stdout, '', 'no JSON report for a command that prints none');
  }
  t.equal(before.stderr, after.stderr, 'the same refusal');
  t.equal(status.code, 0, 'the daemon was not stopped');
});
