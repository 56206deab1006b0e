import t from 'tap';
import { isLoopbackHost, normalizeHost } from '../../daemon/provider-registry.js';
import { createDaemonLog } from '../../daemon/main.js';

t.test('hosts match however git spells them: case, trailing dot, default port', async (t) => {
  t.equal(normalizeHost('https', 'GitHub.com'), 'github.com');
  t.equal(normalizeHost('https', 'github.com.'), 'github.com');
  t.equal(normalizeHost('https', 'github.com:443'), 'github.com');
  t.equal(normalizeHost('http', '127.0.0.1:80'), '127.0.0.1');
  t.equal(normalizeHost('https', 'ghe.example.com:8443'), 'ghe.example.com:8443');
});

t.test('only loopback hosts count as loopback', async (t) => {
  t.ok(isLoopbackHost('127.0.0.1:8080'));
  t.ok(isLoopbackHost('localhost'));
  t.ok(isLoopbackHost('[::1]:3000'));
  t.notOk(isLoopbackHost('127.0.0.1.example.com'));
  t.notOk(isLoopbackHost('10.0.0.1'));
});

t.test('a bad log level is a clear error, not a pino internal', async (t) => {
  t.throws(() => createDaemonLog({ GIT_CREDENTIAL_BROKER_LOG_LEVEL: 'verbose' }), {
    code: 'CONFIG',
    message: /GIT_CREDENTIAL_BROKER_LOG_LEVEL 'verbose' is not a log level; use one of .*debug/,
  });
});
