import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { BadRequestError } from '../../shared/errors.js';
import { encodeMessage, errorReply, PROTOCOL_VERSION } from '../../shared/protocol.js';
import { parseReply } from '../../shared/reply-parse.js';
import { parseRequest } from '../../shared/request-parse.js';
import { describeUntil } from '../../shared/socket-lock-state.js';
import { stoppingOf } from '../../shared/stopping-reply.js';
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

t.test(
  'a get that leaves the host to the daemon says so with hostFromDaemon: true only',
  async (t) => {
    const base = {
      v: PROTOCOL_VERSION,
      op: 'get' as const,
      target: { protocol: 'https', host: 'github.com', path: 'acme/widgets' },
      requester: { pid: 5, ppid: 4 },
    };

    const leaving = parseRequest(JSON.stringify({ ...base, hostFromDaemon: true }));
    const naming = parseRequest(JSON.stringify(base));

    t.same(leaving, { ...base, hostFromDaemon: true });
    t.same(naming, base, 'absent: the host is the one named');
    for (const value of [false, 'yes', 1, null]) {
      t.throws(
        () => parseRequest(JSON.stringify({ ...base, hostFromDaemon: value })),
        { code: 'BAD_REQUEST', message: /hostFromDaemon must be true or absent/ },
        JSON.stringify(value),
      );
    }
  },
);

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

t.test('an error message never echoes a long value the client sent, wherever it is', async (t) => {
  // Found in review: a 60 KB permission level came back whole in the reply
  // and the daemon log, so a sandbox could fill a disk quickly. Every field
  // a client controls is tried here, as a value and (in objects) as a key.
  const long = `L${'x'.repeat(60_000)}`;
  const valid = {
    v: 1,
    op: 'get',
    target: { protocol: 'https', host: 'github.com', path: 'acme/widgets' },
    requester: { pid: 1, ppid: 0, uid: 0, cwd: '/w' },
    permissions: { contents: 'read' },
    password: 'p',
  };
  type Json = Record<string, unknown>;
  const variants: Json[] = [];
  const walk = (node: Json, replace: (next: Json) => Json): void => {
    for (const key of Object.keys(node)) {
      const value = node[key];
      const swapped = (inner: unknown): Json => replace({ ...node, [key]: inner });
      variants.push(swapped(long));
      if (typeof value === 'object' && value !== null) walk(value as Json, swapped);
    }
    variants.push(replace({ ...node, [long]: 'x' }));
  };
  walk(valid, (next) => next);
  for (const op of ['get', 'erase', 'ping', long]) {
    for (const variant of variants) {
      let message = '';
      try {
        parseRequest(JSON.stringify({ ...variant, op: variant.op === long ? long : op }));
      } catch (error) {
        message = (error as Error).message;
      }
      if (message.length > 200) {
        t.fail(`a ${message.length}-character message: ${message.slice(0, 80)}…`);
        return;
      }
    }
  }
  t.pass(`${variants.length * 4} requests, every message short`);
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

t.test('a control character anywhere in the target is refused, for get and erase', async (t) => {
  // Found by the fuzzer: a carriage return in host made the daemon's host
  // normalization throw, and the client got INTERNAL instead of BAD_REQUEST.
  const controls = ['\r', '\n', '\0', '\u001e', '\u007f', '\u0085', '\u2028'];
  const fields = ['protocol', 'host', 'path'] as const;
  const accepted: string[] = [];
  // Named by code point: a raw U+2028 in an assertion's name breaks tap's output.
  const nameOf = (control: string): string =>
    `U+${control.codePointAt(0)!.toString(16).padStart(4, '0')}`;
  for (const op of ['get', 'erase']) {
    for (const field of fields) {
      for (const control of controls) {
        const target = { protocol: 'https', host: 'github.com', path: 'acme/widgets' };
        target[field] = `${target[field].slice(0, 3)}${control}${target[field].slice(3)}`;
        const line = JSON.stringify({ v: 1, op, target, requester: { pid: 1, ppid: 1 } });
        try {
          parseRequest(line);
          accepted.push(`${op} ${field} ${nameOf(control)}`);
        } catch (error) {
          t.match(
            error,
            {
              code: 'BAD_REQUEST',
              message: new RegExp(`target\\.${field} contains a control character`),
            },
            `${op} ${field} ${nameOf(control)}`,
          );
        }
      }
    }
  }
  t.same(accepted, [], 'none accepted');
  // What git does send still parses: unicode in a path, a port in a host.
  t.doesNotThrow(() =>
    parseRequest(
      JSON.stringify({
        v: 1,
        op: 'get',
        target: { protocol: 'https', host: 'ghe.example:8443', path: 'acme/wïdgets' },
      }),
    ),
  );
});

t.test('a token in a value an error quotes is removed before the quote is cut', async (t) => {
  const token = `ghs_${randomBytes(18).toString('hex')}`;
  const line = JSON.stringify({ v: 1, op: `${'z'.repeat(17)}${token}` });
  t.throws(() => parseRequest(line), { code: 'BAD_REQUEST' });
  try {
    parseRequest(line);
  } catch (error) {
    t.notOk((error as Error).message.includes(token.slice(0, 12)), (error as Error).message);
  }
});

t.test('a malformed reply names the field of the wrong type, not a missing one', async (t) => {
  // Found in review: each of these was "missing ok or error".
  for (const [line, expected] of [
    ['{"v":1,"ok":"true"}', "'ok' is not true or false (it is a string)"],
    ['{"v":1}', "'ok' is not true or false (it is missing)"],
    ['{"v":1,"ok":false,"error":"boom"}', "'error' is not an object (it is a string)"],
    [
      '{"v":1,"ok":false,"error":{"message":7}}',
      "'error.message' is not a string (it is a number)",
    ],
  ] as const) {
    t.throws(
      () => parseReply(line),
      { message: `malformed reply from the daemon: ${expected}` },
      line,
    );
  }
});

t.test('a reply the helper cannot read is the daemon, not malformed input', async (t) => {
  for (const line of ['not json', '[]', '{"v":1,"ok":"yes"}']) {
    t.throws(
      () => parseReply(line),
      { code: 'DAEMON_UNREACHABLE', quit: true, message: /restart the daemon after upgrading/ },
      line,
    );
  }
  // In another version of the protocol: a broker daemon, of another release.
  for (const line of ['{"v":2,"ok":true}', '{"v":0,"ok":false,"error":{}}']) {
    t.throws(
      () => parseReply(line),
      { code: 'VERSION_MISMATCH', quit: true, message: /restart the daemon after upgrading/ },
      line,
    );
  }
});

t.test('a daemon error code this release does not know is read as INTERNAL', async (t) => {
  const reply = (code: unknown) =>
    parseReply(JSON.stringify({ v: 1, ok: false, error: { code, message: 'm', quit: true } }));

  t.match(reply('VERSION_MISMATCH\u001b[31m'), { ok: false, error: { code: 'INTERNAL' } });
  t.match(reply('LATER_CODE'), { error: { code: 'INTERNAL', message: 'm', quit: true } });
  t.match(reply(42), { error: { code: 'INTERNAL' } });
  t.match(reply('DENIED'), { error: { code: 'DENIED' } }, 'a known code as it is');
});

t.test('a stopping deadline years ahead is no stopping reply, and prints sanely', async (t) => {
  // Found in review: untilMs 8.64e15 printed a 17-digit count of seconds.
  const line = (untilMs: number) =>
    JSON.stringify({
      v: 1,
      ok: false,
      error: { code: 'DAEMON_UNREACHABLE', message: 'stopping', stopping: { pid: 7, untilMs } },
    });
  const soon = Date.now() + 5000;

  t.same(stoppingOf(line(soon)), { pid: 7, untilMs: soon });
  t.equal(stoppingOf(line(8.64e15)), undefined);
  t.equal(describeUntil(8.64e15), 'far in the future');
  t.match(describeUntil(soon, soon - 5000), /^\d\d:\d\d:\d\d, in 5 s$/);
});
