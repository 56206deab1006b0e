import { randomBytes } from 'node:crypto';
import t from 'tap';
import { hasUnprintable, printable, terminalJson, withoutTokens } from '../../shared/printable.js';

t.test('control characters cannot reach the terminal', async (t) => {
  t.equal(printable('a\u001b]0;pwned\u0007\u001b[31mRED\r\nb'), 'a?]0;pwned??[31mRED??b');
  t.equal(printable('\u009bX'), '?X', 'C1 controls too');
});

t.test('long text is cut short', async (t) => {
  t.equal(printable('x'.repeat(10), 4), 'xxxx…');
});

t.test('text a client sent keeps no GitHub-token-shaped value', async (t) => {
  const body = randomBytes(18).toString('hex');
  for (const prefix of ['ghp', 'gho', 'ghu', 'ghs', 'ghr', 'github_pat', 'GHS']) {
    const token = `${prefix}_${body}`;
    t.equal(
      withoutTokens(`/home/me/${token}/src and ${token}`),
      '/home/me/[token removed]/src and [token removed]',
      prefix,
    );
  }
  // Ordinary text, and names merely starting like one, are left alone.
  for (const text of ['acme/widgets', 'ghs_short', 'my_ghs_notes', '/srv/git/repo.git']) {
    t.equal(withoutTokens(text), text);
  }
});

t.test('a token is removed before text is cut short, not after', async (t) => {
  // Found by review: cut first, the token's tail was too short to recognize.
  const token = `ghp_${randomBytes(18).toString('hex')}`;
  const text = printable(`${'x'.repeat(100)}${token}`, 120);
  t.notOk(text.includes(token.slice(0, 12)), text);
});

t.test('line separators and bidirectional controls are unprintable too', async (t) => {
  t.equal(printable('a\u2028b\u202ec\u2066d\u200f'), 'a?b?c?d?');
  t.ok(hasUnprintable('x\u2029'));
  t.notOk(hasUnprintable('acme/widgets é'));
});

t.test('terminalJson escapes what JSON leaves raw, and parses back the same', async (t) => {
  const value = { s: 'a\u001b\u009b\u2028\u202e\u007fé', n: 1 };

  const json = terminalJson(value);

  t.notMatch(json, /[\u007f-\u009f\u2028\u202e]/);
  t.match(json, /\\u009b/);
  t.same(JSON.parse(json), value);
  t.equal(
    json,
    JSON.stringify(value, null, 2).replace(
      /[\u007f-\u009f\u2028\u202e]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    ),
  );
});

t.test('the Arabic letter mark and invisible characters are unprintable too', async (t) => {
  // Found in review: these passed as they were, so two hosts or paths that
  // differ by an invisible character printed the same.
  const invisible = ['\u061c', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff'];

  for (const character of invisible) {
    const code = character.charCodeAt(0).toString(16).padStart(4, '0');
    t.equal(printable(`a${character}b`), 'a?b', `U+${code} in printable`);
    t.ok(hasUnprintable(character), `U+${code} is unprintable`);
    const json = terminalJson({ s: `a${character}b` });
    t.match(json, `a\\u${code}b`, `U+${code} escaped in terminalJson`);
    t.same(JSON.parse(json), { s: `a${character}b` });
  }
  t.equal(printable('acme/widgets é ü'), 'acme/widgets é ü', 'letters stay');
});

t.test('terminalJson prints a value nested too deep for JSON.stringify', async (t) => {
  // What a fake daemon sent in review: status --json then crashed.
  const deep = JSON.parse(
    `{"extra":${'['.repeat(200_000)}${']'.repeat(200_000)},"n":1}`,
  ) as unknown;

  const json = terminalJson(deep);

  const parsed = JSON.parse(json) as { n: number; extra: unknown };
  t.equal(parsed.n, 1, 'the rest is printed');
  t.match(json, /"\[nested too deep; not shown\]"/);
  t.same(JSON.parse(terminalJson({ a: [[{ b: 1 }]] })), { a: [[{ b: 1 }]] }, 'shallow is kept');
});

t.test('terminalJson keeps a key named __proto__ as data', async (t) => {
  // Found in review: the copy assigned it, which set the prototype instead.
  const value: unknown = JSON.parse('{"permissions":{"__proto__":"admin","contents":"read"}}');

  const json = terminalJson(value);

  t.match(json, '"__proto__": "admin"');
  t.same(Object.keys((JSON.parse(json) as { permissions: object }).permissions), [
    '__proto__',
    'contents',
  ]);
});

t.test('terminalJson redacts token-shaped keys and strings only when asked', async (t) => {
  const token = `ghs_${'A'.repeat(36)}`;
  const value = { config: `/etc/${token}.json`, [token]: 1, nested: [token] };

  const redacted = terminalJson(value, { redactTokens: true });

  t.notOk(redacted.includes(token), redacted);
  t.match(redacted, '"config": "/etc/[token removed].json"');
  t.ok(terminalJson({ token }).includes(token), 'token --json prints its token');
});
