/**
 * Reading a proxy's answer to a CONNECT: line ends, interim answers, the
 * size limit, and Retry-After; then the same answers from a real proxy on
 * loopback.
 */
import t from 'tap';
import { createHttpFetch } from '../../../daemon/providers/http-fetch.js';
import {
  MAX_ANSWER_HEAD_BYTES,
  readConnectAnswer,
} from '../../../daemon/providers/proxy-answer.js';
import { parseProxyUrl } from '../../../daemon/providers/proxy-env.js';
import { startOrigin as origin, startProxy as proxy } from '../../fixtures/connect-proxy.js';

const read = (text: string) => readConnectAnswer(Buffer.from(text, 'latin1'));

t.test('an answer head ends at a blank line, in CRLF or bare LF', async (t) => {
  t.match(read('HTTP/1.1 200 Connection established\r\n\r\n'), {
    kind: 'answer',
    status: 200,
    reason: 'Connection established',
    extraBytes: 0,
  });
  t.match(read('HTTP/1.1 200 OK\nProxy-Agent: x\n\n'), {
    kind: 'answer',
    status: 200,
    extraBytes: 0,
  });
  t.match(read('HTTP/1.0 200\r\n\n'), { kind: 'answer', status: 200, reason: '' });
  t.same(read('HTTP/1.1 200 OK\r\nProxy-Agent: x\r\n'), { kind: 'incomplete' });
  t.same(read('HTTP/1.1 200 OK\n'), { kind: 'incomplete' });
  t.match(read('HTTP/1.1 200 OK\r\n\r\nXY'), { kind: 'answer', extraBytes: 2 });
});

t.test('interim 1xx answers are skipped; 101 is an answer', async (t) => {
  t.match(read('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n'), {
    kind: 'answer',
    status: 200,
    extraBytes: 0,
  });
  t.match(
    read('HTTP/1.1 100 Continue\n\nHTTP/1.1 103 Early Hints\nLink: x\n\nHTTP/1.1 407 No\n\n'),
    {
      kind: 'answer',
      status: 407,
    },
  );
  t.same(
    read('HTTP/1.1 100 Continue\r\n\r\n'),
    { kind: 'incomplete' },
    'the real answer is awaited',
  );
  t.match(read('HTTP/1.1 101 Switching Protocols\r\n\r\n'), { kind: 'answer', status: 101 });
});

t.test('a first line that is not an HTTP status line is not HTTP, at once', async (t) => {
  t.same(read('SSH-2.0-OpenSSH_9.2\r\n'), { kind: 'not-http' });
  t.same(read('HTTP/1.1 100 Continue\r\n\r\nSSH-2.0\n'), { kind: 'not-http' });
});

t.test('a head past the limit is too large, ended or not', async (t) => {
  const padding = 'X-Pad: '.padEnd(100, 'a') + '\r\n';
  const huge = 'HTTP/1.1 200 OK\r\n' + padding.repeat(MAX_ANSWER_HEAD_BYTES / padding.length + 1);

  t.same(read(huge), { kind: 'too-large' });
  t.same(read(`${huge}\r\n`), { kind: 'too-large' });
  t.same(read(huge.slice(0, MAX_ANSWER_HEAD_BYTES - 10)), { kind: 'incomplete' });
});

t.test('Retry-After is read from the final answer, in any case', async (t) => {
  t.match(read('HTTP/1.1 429 Too Many\r\nretry-AFTER:  3 \r\n\r\n'), {
    status: 429,
    retryAfter: '3',
  });
  t.notOk('retryAfter' in (read('HTTP/1.1 503 Busy\r\n\r\n') as object));
});

t.test(
  'a real proxy answering in bare LF, or with 100 Continue first, opens the tunnel',
  async (t) => {
    const base = await origin(t);
    const lf = await proxy(t, { tunnelAnswer: 'HTTP/1.1 200 Connection established\n\n' });
    const interim = await proxy(t, {
      tunnelAnswer: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n',
    });

    for (const fixture of [lf, interim]) {
      const answer = await createHttpFetch({ proxy: parseProxyUrl('http_proxy', fixture.url()) })(
        `${base}/x`,
      );
      t.equal(await answer.text(), '{"ok":1}');
    }
  },
);

t.test(
  'a real proxy whose answer headers run past the limit is told apart from a close',
  async (t) => {
    const base = await origin(t);
    const padding = 'X-Pad: '.padEnd(1000, 'a') + '\r\n';
    const fixture = await proxy(t, { tunnelAnswer: `HTTP/1.1 200 OK\r\n${padding.repeat(40)}` });

    await t.rejects(
      createHttpFetch({ proxy: parseProxyUrl('http_proxy', fixture.url()) })(`${base}/x`),
      {
        name: 'ProxyTunnelError',
        message: `proxy '${fixture.label}' (from http_proxy) answered the request for a tunnel to '${new URL(base).host}' with headers larger than 16 KiB; check that http_proxy names an HTTP proxy`,
      },
    );
  },
);
