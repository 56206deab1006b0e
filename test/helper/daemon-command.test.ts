import t from 'tap';
import { parseDaemonInvocation } from '../../helper/daemon-command.js';

t.test('takes the daemon command with --config and --socket in either spelling', async (t) => {
  t.same(parseDaemonInvocation(['daemon']), {});
  t.same(parseDaemonInvocation(['daemon', '--config', '/c.json', '--socket=/s.sock']), {
    config: '/c.json',
    socket: '/s.sock',
  });
});

t.test('leaves every other form to the full command line parser', async (t) => {
  for (const argv of [
    [],
    ['--help'],
    ['daemon', '--help'],
    ['daemon', '--config'],
    ['daemon', '--config', '/a', '--config', '/b'],
    ['daemon', '--config='],
    ['daemon', 'extra'],
    ['--socket', '/s', 'daemon'],
    // Found in review: a value option took the next option as its value.
    ['daemon', '--socket', '--config'],
    ['daemon', '--config', '--detach'],
    ['daemon', '--config', '-x'],
  ]) {
    t.equal(parseDaemonInvocation(argv), undefined, argv.join(' ') || '(nothing)');
  }
});

t.test('takes a value starting with a dash only as --option=VALUE', async (t) => {
  t.same(parseDaemonInvocation(['daemon', '--socket=-odd.sock']), { socket: '-odd.sock' });
});
