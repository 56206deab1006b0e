import t from 'tap';
import { formatCredentialOutput, parseCredentialInput } from '../../helper/credential-protocol.js';

t.test('parses the attributes git sends, ending at the blank line', async (t) => {
  const parsed = parseCredentialInput(
    'protocol=https\nhost=github.com\npath=acme/widgets.git\n\nhost=ignored\n',
  );

  t.same(parsed, { protocol: 'https', host: 'github.com', path: 'acme/widgets.git', multi: {} });
});

t.test('accepts input that ends at EOF without a blank line', async (t) => {
  t.same(parseCredentialInput('protocol=https\nhost=h'), {
    protocol: 'https',
    host: 'h',
    multi: {},
  });
});

t.test('keeps everything after the first = as the value', async (t) => {
  t.equal(parseCredentialInput('password=a=b==\n').password, 'a=b==');
});

t.test('url= sets its fields and resets those read before it', async (t) => {
  const parsed = parseCredentialInput(
    'path=old/path\nusername=old\nurl=https://github.com/acme/widgets.git\n',
  );

  t.same(parsed, { protocol: 'https', host: 'github.com', path: 'acme/widgets.git', multi: {} });
});

t.test('collects repeated key[] values and ignores unknown keys', async (t) => {
  const parsed = parseCredentialInput(
    'wwwauth[]=Basic realm="x"\nwwwauth[]=Bearer\ncapability[]=authtype\nfuture_key=1\n',
  );

  t.same(parsed.multi, { wwwauth: ['Basic realm="x"', 'Bearer'], capability: ['authtype'] });
  t.notOk('future_key' in parsed);
});

t.test(
  'refuses a carriage return or NUL inside a value, a line without =, and an overlong line',
  async (t) => {
    t.throws(() => parseCredentialInput('host=a\rb\n'), {
      code: 'BAD_REQUEST',
      message: /carriage return or NUL/,
    });
    t.throws(() => parseCredentialInput('host=a\0b\n'), { code: 'BAD_REQUEST' });
    t.throws(() => parseCredentialInput('nonsense\n'), { code: 'BAD_REQUEST', message: /no '='/ });
    t.throws(() => parseCredentialInput(`path=${'a'.repeat(70_000)}\n`), {
      code: 'BAD_REQUEST',
      message: /longer than/,
    });
  },
);

t.test('formats an answer as key=value lines and refuses a value with a newline', async (t) => {
  t.equal(
    formatCredentialOutput({ username: 'u', password_expiry_utc: 17 }),
    'username=u\npassword_expiry_utc=17\n',
  );
  t.throws(() => formatCredentialOutput({ password: 'a\nb' }), { code: 'BAD_REQUEST' });
});

t.test(
  'a url without a scheme is refused without quoting it (it may hold a password)',
  async (t) => {
    const error = (() => {
      try {
        parseCredentialInput('url=alice:SuperSecretPw123@example.com/acme/x\n');
      } catch (e) {
        return e as Error;
      }
    })();

    t.match(error, { code: 'BAD_REQUEST', message: /url without a scheme/ });
    t.notMatch(error?.message ?? '', /SuperSecret/);
  },
);

t.test('malformed percent-escapes stay as they are, as in git', async (t) => {
  t.equal(
    parseCredentialInput('url=https://h/acme/%E0%A4%A\n').path,
    'acme/%E0%A4%A'.replace('%E0%A4', '\ufffd'),
  );
  t.equal(parseCredentialInput('url=https://h/acme/100%\n').path, 'acme/100%');
});

t.test('a url= whose parts decode to a newline, CR or NUL is refused', async (t) => {
  for (const url of ['https://h/acme/x%0Apassword=y', 'https://h/a/b%0D', 'https://u:p%00@h/a/b']) {
    t.throws(() => parseCredentialInput(`url=${url}\n`), { code: 'BAD_REQUEST' }, url);
  }
});
