import t from 'tap';
import { defaultAuditLogPath, resolveConfigPath, resolveSocketPath } from '../../shared/paths.js';

t.test(
  'the socket path follows flag, then env var, then XDG_RUNTIME_DIR, then the cache dir',
  async (t) => {
    const env = {
      HOME: '/home/u',
      XDG_RUNTIME_DIR: '/run/user/1',
      GIT_CREDENTIAL_BROKER_SOCKET: '/env.sock',
    };

    t.equal(resolveSocketPath(env, '/flag.sock'), '/flag.sock');
    t.equal(resolveSocketPath(env), '/env.sock');
    t.equal(
      resolveSocketPath({ HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1' }),
      '/run/user/1/git-credential-broker/daemon.sock',
    );
    t.equal(
      resolveSocketPath({ HOME: '/home/u' }),
      '/home/u/.cache/git-credential-broker/daemon.sock',
    );
  },
);

t.test('refuses a socket path too long for a Unix socket', async (t) => {
  const long = `/${'x'.repeat(120)}`;

  // From --socket: the command line is malformed; from the environment: its config.
  t.throws(() => resolveSocketPath({}, long), { code: 'BAD_REQUEST', message: /longer than/ });
  t.throws(() => resolveSocketPath({ GIT_CREDENTIAL_BROKER_SOCKET: long }), {
    code: 'CONFIG',
    message: /longer than/,
  });
});

t.test('an empty --socket is an error, not the default socket', async (t) => {
  for (const flag of ['', ' ']) {
    t.throws(() => resolveSocketPath({ HOME: '/h' }, flag), {
      code: 'BAD_REQUEST',
      message: /--socket was given an empty path/,
    });
  }
});

t.test('config and audit log default to the XDG locations', async (t) => {
  t.equal(resolveConfigPath({ HOME: '/h' }), '/h/.config/git-credential-broker/config.json');
  t.equal(resolveConfigPath({ HOME: '/h', GIT_CREDENTIAL_BROKER_CONFIG: '/c.json' }), '/c.json');
  t.equal(defaultAuditLogPath({ HOME: '/h' }), '/h/.local/state/git-credential-broker/audit.log');
  t.equal(
    defaultAuditLogPath({ HOME: '/h', XDG_STATE_HOME: '/s' }),
    '/s/git-credential-broker/audit.log',
  );
});
