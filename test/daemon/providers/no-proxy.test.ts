import t from 'tap';
import { NoProxyList } from '../../../daemon/providers/no-proxy.js';

function bypasses(list: string, host: string, port = 443): boolean {
  return new NoProxyList(list).matches(host, port);
}

t.test('a name matches itself and the names below it, never a longer name', async (t) => {
  for (const entry of ['example.com', '.example.com', '*.example.com', 'EXAMPLE.com.']) {
    t.equal(bypasses(entry, 'example.com'), true, `${entry} matches example.com`);
    t.equal(bypasses(entry, 'api.example.com'), true, `${entry} matches api.example.com`);
    t.equal(bypasses(entry, 'notexample.com'), false, `${entry} does not match notexample.com`);
    t.equal(bypasses(entry, 'example.com.evil'), false, `${entry} does not match example.com.evil`);
  }
  t.equal(
    bypasses('example.com', 'API.Example.COM.'),
    true,
    'case and a trailing dot do not matter',
  );
});

t.test('entries are separated by commas or blanks; empty ones are skipped', async (t) => {
  const list = ' internal.test ,, github.com\tlocalhost ';

  t.equal(bypasses(list, 'github.com'), true);
  t.equal(bypasses(list, 'localhost'), true);
  t.equal(bypasses(list, 'api.github.com'), true);
  t.equal(bypasses(list, 'gitlab.com'), false);
  t.equal(bypasses('', 'github.com'), false, 'an empty list excludes nothing');
});

t.test('* as the whole value excludes every host; inside a list nothing, as in curl', async (t) => {
  t.equal(bypasses('*', 'api.github.com'), true);
  t.equal(bypasses(' * ', '10.0.0.1'), true);
  t.equal(bypasses('internal.test,*', '10.0.0.1'), false);
  t.equal(bypasses('internal.test,*', 'api.internal.test'), true, 'the other entries still count');
  t.equal(bypasses('*github.com', 'api.github.com'), false, 'not a wildcard pattern');
});

t.test('IP literals match that address only, CIDR ranges every address in them', async (t) => {
  t.equal(bypasses('127.0.0.1', '127.0.0.1'), true);
  t.equal(bypasses('127.0.0.1', '127.0.0.2'), false);
  t.equal(bypasses('10.0.0.0/8', '10.20.30.40'), true);
  t.equal(bypasses('10.0.0.0/8', '11.0.0.1'), false);
  t.equal(bypasses('::1', '[::1]'), true, 'a URL hostname keeps its brackets');
  t.equal(bypasses('[::1]', '::1'), true);
  t.equal(bypasses('0:0:0:0:0:0:0:1', '[::1]'), true, 'IPv6 compared as addresses, not text');
  t.equal(bypasses('fd00::/8', '[fd12::5]'), true);
  t.equal(bypasses('fd00::/8', '[fe80::1]'), false);
  t.equal(bypasses('[fd00::]/8', '[fd12::5]'), true, 'a bracketed address with a range');
  t.equal(bypasses('[fd00::]/8', '[fe80::1]'), false);
  t.equal(bypasses('[fd00::]/8:443', '[fd12::5]', 443), true);
  t.equal(bypasses('[fd00::]/8:443', '[fd12::5]', 8443), false);
  t.equal(bypasses('10.0.0.0/40', '10.0.0.1'), false, 'an impossible range matches nothing');
});

t.test('a name never matches an address: localhost is not 127.0.0.1', async (t) => {
  t.equal(bypasses('localhost', '127.0.0.1'), false);
  t.equal(bypasses('127.0.0.1', 'localhost'), false);
  t.equal(bypasses('0.0.1', '127.0.0.1'), false, 'no suffix matching on addresses');
});

t.test('an entry with a port matches on that port only', async (t) => {
  t.equal(bypasses('ghe.example.com:8443', 'ghe.example.com', 8443), true);
  t.equal(bypasses('ghe.example.com:8443', 'ghe.example.com', 443), false);
  t.equal(bypasses('127.0.0.1:4000', '127.0.0.1', 4000), true);
  t.equal(bypasses('127.0.0.1:4000', '127.0.0.1', 4001), false);
  t.equal(bypasses('[::1]:4000', '[::1]', 4000), true);
  t.equal(bypasses('[::1]:4000', '[::1]', 80), false);
  t.equal(bypasses('example.com', 'example.com', 8080), true, 'no port: any port');
});
