import { readFileSync } from 'node:fs';
import t from 'tap';
import { BadRequestError } from '../../shared/errors.js';
import {
  encodeMessage,
  errorReply,
  parseReply,
  parseRequest,
  PROTOCOL_VERSION,
} from '../../shared/protocol.js';
import { VERSION } from '../../shared/version.js';

t.test('a request survives encoding and parsing unchanged', async (t) => {
  const request = {
    v: PROTOCOL_VERSION,
    op: 'get' as const,
    target: { protocol: 'https', host: 'github.com', path: 'acme/widgets' },
    permissions: { contents: 'read' as const },
    requester: { pid: 5, ppid: 4, uid: 1000, cwd: '/src' },
  };

  const line = encodeMessage(request);

  t.ok(line.endsWith('\n'));
  t.equal(line.indexOf('\n'), line.length - 1, 'one line');
  t.same(parseRequest(line.trimEnd()), request);
});

t.test('rejects malformed requests with a reason', async (t) => {
  const cases: [string, RegExp][] = [
    ['not json', /not valid JSON/],
    ['[1,2]', /JSON object/],
    ['{"v":99,"op":"get"}', /unsupported protocol version 99/],
    ['{"v":1,"op":"steal"}', /unknown request op "steal"/],
    ['{"v":1,"op":"get","target":{"protocol":"https"}}', /target.host/],
    ['{"v":1,"op":"get","target":{"protocol":"https","host":"h","path":5}}', /target.path/],
    [
      '{"v":1,"op":"get","target":{"protocol":"https","host":"h"},"permissions":{"contents":"all"}}',
      /invalid permission level/,
    ],
  ];
  for (const [line, message] of cases) {
    t.throws(() => parseRequest(line), { code: 'BAD_REQUEST', message }, line);
  }
});

t.test('an error reply carries code, message, hint and quit', async (t) => {
  const reply = errorReply(new BadRequestError('bad thing', { hint: 'do this' }));

  t.same(parseReply(encodeMessage(reply).trimEnd()), {
    v: PROTOCOL_VERSION,
    ok: false,
    error: { code: 'BAD_REQUEST', message: 'bad thing', hint: 'do this', quit: true },
  });
});

t.test('the version constant matches package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };

  t.equal(VERSION, pkg.version);
});

t.test('a permission name that is not a GitHub permission is refused', async (t) => {
  for (const name of ['__proto__', 'Contents', 'a-b', '']) {
    const line = JSON.stringify({
      v: 1,
      op: 'get',
      target: { protocol: 'https', host: 'h', path: 'a/b' },
      permissions: { [name]: 'admin' },
    });
    t.throws(() => parseRequest(line), { code: 'BAD_REQUEST' }, JSON.stringify(name));
  }
});

t.test('an error reply never echoes a long value the client sent', async (t) => {
  const long = 'x'.repeat(10_000);

  const error = (() => {
    try {
      parseRequest(JSON.stringify({ v: 1, op: long }));
    } catch (e) {
      return e as Error;
    }
  })();

  t.ok(error !== undefined && error.message.length < 200, 'the message stays short');
});

t.test('a path or host too long for git is refused before anything parses it', async (t) => {
  const request = (target: Record<string, string>) =>
    JSON.stringify({ v: 1, op: 'get', target: { protocol: 'https', host: 'h', ...target } });

  t.throws(() => parseRequest(request({ path: `a${'/'.repeat(64_000)}a` })), {
    code: 'BAD_REQUEST',
    message: /target.path is longer than 1024 characters/,
  });
  t.throws(() => parseRequest(request({ host: 'h'.repeat(300) })), { code: 'BAD_REQUEST' });
  t.doesNotThrow(() => parseRequest(request({ path: 'acme/widgets' })));
});
