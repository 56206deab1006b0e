import { createServer, type AddressInfo } from 'node:net';
import t from 'tap';
import { runHelper } from '../fixtures/run-helper.js';
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

t.test(
  "the broker's variables set but empty are refused, naming the variable and the default",
  async (t) => {
    // Found in a trial: an empty GIT_CREDENTIAL_BROKER_CONFIG silently meant
    // the default config, where `--config ''` was refused.
    const env = { HOME: '/h', XDG_RUNTIME_DIR: '/run/user/1' };
    for (const empty of ['', ' ']) {
      t.throws(() => resolveConfigPath({ ...env, GIT_CREDENTIAL_BROKER_CONFIG: empty }), {
        code: 'CONFIG',
        message:
          "GIT_CREDENTIAL_BROKER_CONFIG is set but empty; set it to the config file's path, or unset it (unset GIT_CREDENTIAL_BROKER_CONFIG) to use the default, '/h/.config/git-credential-broker/config.json'",
      });
      t.throws(() => resolveSocketPath({ ...env, GIT_CREDENTIAL_BROKER_SOCKET: empty }), {
        code: 'CONFIG',
        message:
          "GIT_CREDENTIAL_BROKER_SOCKET is set but empty; set it to the daemon's socket path, or unset it (unset GIT_CREDENTIAL_BROKER_SOCKET) to use the default, '/run/user/1/git-credential-broker/daemon.sock'",
      });
    }

    // A flag still wins over the variable, empty or not; empty XDG_* means their default.
    t.equal(resolveConfigPath({ ...env, GIT_CREDENTIAL_BROKER_CONFIG: '' }, '/c.json'), '/c.json');
    t.equal(resolveSocketPath({ ...env, GIT_CREDENTIAL_BROKER_SOCKET: '' }, '/s.sock'), '/s.sock');
    t.equal(
      resolveSocketPath({ HOME: '/h', XDG_RUNTIME_DIR: '', XDG_CACHE_HOME: '' }),
      '/h/.cache/git-credential-broker/daemon.sock',
    );
  },
);

t.test('config and audit log default to the XDG locations', async (t) => {
  t.equal(resolveConfigPath({ HOME: '/h' }), '/h/.config/git-credential-broker/config.json');
  t.equal(resolveConfigPath({ HOME: '/h', GIT_CREDENTIAL_BROKER_CONFIG: '/c.json' }), '/c.json');
  for (const empty of ['', ' ']) {
    t.throws(
      () => resolveConfigPath({ HOME: '/h' }, empty),
      { code: 'BAD_REQUEST', message: /--config was given an empty path/ },
      `--config '${empty}' is refused, not taken for the default`,
    );
  }
  t.equal(defaultAuditLogPath({ HOME: '/h' }), '/h/.local/state/git-credential-broker/audit.log');
  t.equal(
    defaultAuditLogPath({ HOME: '/h', XDG_STATE_HOME: '/s' }),
    '/s/git-credential-broker/audit.log',
  );
});

t.test('a socket path that reads as a number stays a path, never a TCP port', async (t) => {
  // Found in review: `--socket 18080` had the helper connect to
  // 127.0.0.1:18080 and send git's password there.
  const env = { HOME: '/home/u' };
  t.equal(resolveSocketPath(env, '18080'), './18080');
  t.equal(resolveSocketPath({ ...env, GIT_CREDENTIAL_BROKER_SOCKET: '0x46a0' }), './0x46a0');
  t.equal(resolveSocketPath(env, 'run/d.sock'), './run/d.sock');
  t.equal(resolveSocketPath(env, '../d.sock'), '../d.sock');
  t.equal(resolveSocketPath(env, '/run/d.sock'), '/run/d.sock');

  const seen: string[] = [];
  const trap = createServer((socket) => socket.on('data', (chunk) => seen.push(String(chunk))));
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => trap.close(() => resolve())));
  const port = String((trap.address() as AddressInfo).port);
  const erase = await runHelper(
    ['--socket', port, 'erase'],
    'protocol=https\nhost=github.com\npath=acme/widgets\npassword=not-a-real-token\n\n',
    process.env,
    { cwd: t.testdir() },
  );
  t.equal(seen.length, 0, 'nothing reached the TCP port');
  t.match(erase.stderr, /no broker daemon is listening at '\.\/\d+'/);
});
