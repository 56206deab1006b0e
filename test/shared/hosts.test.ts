import t from 'tap';
import { isLoopbackHost, normalizeHost } from '../../shared/hosts.js';

t.test('hosts match however git spells them: case, trailing dot, default port', async (t) => {
  t.equal(normalizeHost('https', 'GitHub.com'), 'github.com');
  t.equal(normalizeHost('https', 'github.com.'), 'github.com');
  t.equal(normalizeHost('https', 'github.com:443'), 'github.com');
  t.equal(normalizeHost('http', '127.0.0.1:80'), '127.0.0.1');
  t.equal(normalizeHost('https', 'ghe.example.com:8443'), 'ghe.example.com:8443');
});

t.test(
  'an IPv6 address in brackets keeps its brackets and loses only a default port',
  async (t) => {
    t.equal(normalizeHost('http', '[::1]:80'), '[::1]');
    t.equal(normalizeHost('https', '[::1]'), '[::1]');
    t.equal(normalizeHost('https', '[::1]:8443'), '[::1]:8443');
    t.equal(normalizeHost('https', '[FE80::1]:443'), '[fe80::1]');
  },
);

t.test('a host with more than one port is left malformed, never made another host', async (t) => {
  for (const host of [
    '127.0.0.1:8080:80',
    '127.0.0.1:8080:443',
    'GitHub.com:443:443',
    'github.com.:8443:443',
    'git.example:1:2:80',
    '[::1]:8080:80',
    '::1:80',
  ]) {
    for (const protocol of ['http', 'https']) {
      t.equal(normalizeHost(protocol, host), host.toLowerCase(), `${protocol} ${host}`);
    }
  }
});

t.test('only loopback hosts count as loopback', async (t) => {
  t.ok(isLoopbackHost('127.0.0.1:8080'));
  t.ok(isLoopbackHost('localhost'));
  t.ok(isLoopbackHost('[::1]:3000'));
  t.ok(isLoopbackHost('[::1]'));
  t.notOk(isLoopbackHost('127.0.0.1.example.com'));
  t.notOk(isLoopbackHost('10.0.0.1'));
  // An IPv6 address without brackets is 0::1:80, not ::1 on port 80.
  t.notOk(isLoopbackHost('::1:80'));
  t.notOk(isLoopbackHost('127.0.0.1:8080:80'));
});
