/**
 * --host, in both its forms, held to one grammar; no error repeats a
 * password, and every value an error suggests is itself accepted.
 */
import t from 'tap';
import { parseHostOption } from '../../helper/commands/host-option.js';
import { recordSecrets } from '../fixtures/leak-ledger.js';

const PASSWORD = 'hunter2-host-option-pw';
recordSecrets([PASSWORD]);

/** A value as a test names it: the password left out of the test's own output. */
const named = (value: string): string => value.replace(PASSWORD, '<password>');

/** The message parseHostOption throws for `value`, or undefined when it accepts it. */
function refusal(value: string): string | undefined {
  try {
    parseHostOption(value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

t.test('takes a host, or an http(s) URL of a host alone', async (t) => {
  t.same(parseHostOption('GitHub.com'), { protocol: 'https', host: 'github.com' });
  t.same(parseHostOption('ghe.example.com:8443'), {
    protocol: 'https',
    host: 'ghe.example.com:8443',
  });
  t.same(parseHostOption('HTTPS://ghe.example.com/'), {
    protocol: 'https',
    host: 'ghe.example.com',
  });
  t.same(parseHostOption('http://127.0.0.1:8080'), { protocol: 'http', host: '127.0.0.1:8080' });
  t.same(parseHostOption('http://[::1]:8080/'), { protocol: 'http', host: '[::1]:8080' });
});

t.test('refuses a URL with anything but scheme, host and port', async (t) => {
  for (const value of [
    'https://a b',
    'https://a.com?x',
    'https://a.com#x',
    'https://a.com/x',
    'https://a.com\\x',
    'https://',
    'https://a.com:0',
    'https://a.com:65536',
    'https://a.com:',
    'http://127.0.0.1:8080:80',
    'https://1.2.3',
    'https://-a.com',
    'https://a..com',
    'https://[zz]',
    'ftp://a.com',
    ' github.com',
    'github.com:99999',
    'a_b.com',
  ]) {
    t.ok(refusal(value), value);
  }
});

t.test('never repeats a user name or password, in either form', async (t) => {
  for (const value of [
    `https://user:${PASSWORD}@example.com`,
    `http://user:${PASSWORD}@127.0.0.1:8080`,
    `https://user:${PASSWORD}@127.0.0.1:8080/x`,
    `https://user:${PASSWORD}/x@example.com`,
    `user:${PASSWORD}@example.com`,
    `ftp://user:${PASSWORD}@example.com`,
  ]) {
    const message = refusal(value);

    t.match(message, /no user name or password/, named(value));
    t.notMatch(message, PASSWORD);
    t.notMatch(message, /user:/);
  }
});

t.test('every value a refusal suggests is one it accepts', async (t) => {
  for (const value of [
    'http://127.0.0.1:8080:80',
    'http://ghe.example.com',
    'http://ghe.example.com:8080/',
    'https://ghe.example.com/api/v3',
    'https://a.com?x',
    'http://a b',
    'https://a b',
    'not a host',
    'ftp://a.com',
    `https://u:${PASSWORD}@a.com`,
  ]) {
    const message = refusal(value) ?? '';
    const suggested = [...message.matchAll(/--host (\S+?)[),;]?(?:\s|$)/g)].map((m) => m[1]!);

    t.not(suggested.length, 0, named(value));
    for (const suggestion of suggested) t.equal(refusal(suggestion), undefined, suggestion);
  }
});
