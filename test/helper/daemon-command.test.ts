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
  ]) {
    t.equal(parseDaemonInvocation(argv), undefined, argv.join(' ') || '(nothing)');
  }
});
