import { join } from 'node:path';
import t from 'tap';
import { defaultDaemonLogPath } from '../../shared/daemon-log-path.js';

const env = { HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1', XDG_STATE_HOME: '/state' };

t.test(
  'the default socket keeps daemon.log; every other socket has a log of its own',
  async (t) => {
    const defaultLog = defaultDaemonLogPath(env, '/run/user/1/git-credential-broker/daemon.sock');
    const a = defaultDaemonLogPath(env, '/tmp/a/daemon.sock');
    const b = defaultDaemonLogPath(env, '/tmp/b/daemon.sock');

    t.equal(defaultLog, '/state/git-credential-broker/daemon.log');
    t.match(a, /^\/state\/git-credential-broker\/daemon-[0-9a-f]{12}\.log$/);
    t.not(a, b, 'two sockets, two logs');
    t.equal(defaultDaemonLogPath(env, '/tmp/a/../a/daemon.sock'), a, 'one socket, however written');
  },
);

t.test('a socket named by the environment variable is not the default one', async (t) => {
  const socket = '/tmp/env/daemon.sock';

  const log = defaultDaemonLogPath({ ...env, GIT_CREDENTIAL_BROKER_SOCKET: socket }, socket);

  t.not(log, join('/state', 'git-credential-broker', 'daemon.log'));
});
