/**
 * httpFetch, the fetch() GitHub calls go through, against real servers on
 * loopback: plain HTTP, and HTTPS with a certificate made at test time.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { httpFetch, MAX_RESPONSE_BYTES } from '../../../daemon/providers/http-fetch.js';
import { REPO_ROOT } from '../../fixtures/repo-root.js';
import { selfSignedCert } from '../../fixtures/tls-cert.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (request: Seen, response: ServerResponse) => void;

async function serve(t: Test, handler: Handler): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const one = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
      };
      seen.push(one);
      handler(one, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

t.test('sends method, headers and body; reads status, headers and body', async (t) => {
  const { base, seen } = await serve(t, (_request, response) => {
    response.writeHead(201, 'Made', {
      'content-type': 'application/json',
      'X-RateLimit-Remaining': '4999',
      'set-cookie': ['a=1', 'b=2'],
    });
    response.end('{"token":"x","n":1}');
  });
  const response = await httpFetch(`${base}/app/installations/7/access_tokens`, {
    method: 'POST',
    headers: { authorization: 'bearer jwt', 'content-type': 'application/json' },
    body: '{"repositories":["widgets"]}',
  });
  t.equal(response.status, 201);
  t.equal(response.statusText, 'Made');
  t.equal(response.ok, true);
  t.equal(response.url, `${base}/app/installations/7/access_tokens`);
  t.equal(response.headers.get('X-RATELIMIT-REMAINING'), '4999', 'header names in any case');
  t.equal(response.headers.has('content-type'), true);
  t.equal(response.headers.get('retry-after'), null);
  t.equal(response.headers.get('set-cookie'), 'a=1, b=2', 'repeated headers joined as fetch does');
  t.ok([...response.headers].some(([name]) => name === 'x-ratelimit-remaining'));
  t.same(await response.json(), { token: 'x', n: 1 });
  t.equal(await response.text(), '{"token":"x","n":1}', 'the body can be read again');
  t.equal(Buffer.from(await response.arrayBuffer()).toString(), '{"token":"x","n":1}');
  t.equal(response.body, null);

  t.equal(seen[0]!.method, 'POST');
  t.equal(seen[0]!.headers.authorization, 'bearer jwt');
  t.equal(seen[0]!.headers['content-length'], '28', 'a known length, not chunked');
  t.equal(seen[0]!.body, '{"repositories":["widgets"]}');
});

t.test('an error status is an answer, not a failure', async (t) => {
  const { base } = await serve(t, (_request, response) => {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"message":"Not Found"}');
  });
  const response = await httpFetch(`${base}/repos/acme/widgets/installation`);
  t.equal(response.status, 404);
  t.equal(response.ok, false);
  t.same(await response.json(), { message: 'Not Found' });
});

t.test('an aborted call rejects with the signal reason: a timeout is a TimeoutError', async (t) => {
  const { base } = await serve(t, () => undefined); // never answers
  await t.rejects(httpFetch(`${base}/slow`, { signal: AbortSignal.timeout(100) }), {
    name: 'TimeoutError',
  });
  const controller = new AbortController();
  controller.abort(new Error('stopped by the caller'));
  await t.rejects(httpFetch(`${base}/slow`, { signal: controller.signal }), {
    message: 'stopped by the caller',
  });
});

t.test('a refused connection rejects with the socket error', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.rejects(httpFetch(`http://127.0.0.1:${port}/`), { code: 'ECONNREFUSED' });
});

t.test('an answer cut short or too large is a failure', async (t) => {
  const { base } = await serve(t, (request, response) => {
    if (request.url === '/cut') {
      response.writeHead(200, { 'content-length': '100' });
      response.write('{"partial":');
      setTimeout(() => response.socket?.destroy(), 20);
      return;
    }
    response.writeHead(200);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    for (let i = 0; i <= MAX_RESPONSE_BYTES / chunk.length; i++) response.write(chunk);
    response.end();
  });
  await t.rejects(httpFetch(`${base}/cut`), { message: /closed before the answer was complete/ });
  await t.rejects(httpFetch(`${base}/huge`), { message: /larger than/ });
});

t.test('redirects are followed within the same origin only', async (t) => {
  const other = await serve(t, (_request, response) => response.end('elsewhere'));
  const { base, seen } = await serve(t, (request, response) => {
    const to: Record<string, string> = {
      '/moved': '/repositories/1/installation',
      '/see-other': '/result',
      '/away': `${other.base}/steal`,
      '/loop': '/loop',
    };
    const location = to[request.url];
    if (location === undefined) {
      response.end(`${request.method} ${request.url} ${request.body}`);
      return;
    }
    response.writeHead(request.url === '/see-other' ? 303 : 301, { location });
    response.end();
  });
  const moved = await httpFetch(`${base}/moved`, { headers: { authorization: 'bearer jwt' } });
  t.equal(moved.status, 200);
  t.equal(await moved.text(), 'GET /repositories/1/installation ');
  t.equal(moved.url, `${base}/repositories/1/installation`, 'url is where the answer came from');
  t.equal(seen.at(-1)!.headers.authorization, 'bearer jwt');

  const seeOther = await httpFetch(`${base}/see-other`, { method: 'POST', body: 'x=1' });
  t.equal(await seeOther.text(), 'GET /result ', '303 turns a POST into a GET without a body');

  // Found in review: an unfollowed redirect was handed back as the answer,
  // and octokit took a 301 to a token's DELETE for a revocation.
  await t.rejects(
    httpFetch(`${base}/away`, { method: 'DELETE', headers: { authorization: 'bearer jwt' } }),
    { message: /redirected to another origin \(http:\/\/127\.0\.0\.1:\d+\)/ },
    'a redirect to another origin fails the call',
  );
  t.equal(other.seen.length, 0, 'and the credentials went nowhere else');

  await t.rejects(httpFetch(`${base}/loop`), { message: /redirected more than 5 times/ });
  t.ok(seen.filter((one) => one.url === '/loop').length <= 6);

  await t.rejects(httpFetch('ftp://127.0.0.1/x'), { message: /use http or https/ });
});

t.test('answers no REST call expects fail the call, never hang it', async (t) => {
  // Found in review: a 101 made Node emit nothing, and the call outlived
  // every timeout (and the helper, and shutdown).
  const raw = createNetServer((socket) =>
    socket.once('data', (request: Buffer) => {
      const path = request.toString().split(' ')[1];
      socket.end(
        path === '/switch'
          ? 'HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n'
          : path === '/zero'
            ? 'HTTP/1.1 099 Odd\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'
            : 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 100\r\n\r\n{"partial"',
      );
    }),
  );
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => raw.close(() => resolve())));
  const base = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
  const signal = (): AbortSignal => AbortSignal.timeout(2000);
  await t.rejects(httpFetch(`${base}/switch`, { signal: signal() }), {
    message: /switched protocols \(HTTP 101\)/,
  });
  await t.rejects(httpFetch(`${base}/zero`, { signal: signal() }), { message: /status|parse/i });
  await t.rejects(httpFetch(`${base}/cut`, { signal: signal() }), {
    message: /closed before the answer was complete/,
  });
});

t.test('an abort ends the call even while the body is still coming', async (t) => {
  const { base } = await serve(t, (_request, response) => {
    response.writeHead(200, { 'content-length': '1000' });
    response.write('{"slow":');
  });
  const started = performance.now();
  await t.rejects(httpFetch(`${base}/slow-body`, { signal: AbortSignal.timeout(200) }), {
    name: 'TimeoutError',
  });
  t.ok(performance.now() - started < 5000);
});

t.test(
  'https: the certificate is verified, and a CA added with NODE_EXTRA_CA_CERTS is trusted',
  async (t) => {
    const dir = t.testdir();
    const { key, cert } = selfSignedCert(dir, 'IP:127.0.0.1');
    const server = createTlsServer({ key, cert }, (_request, response) => response.end('{"ok":1}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    await t.rejects(httpFetch(url), { code: /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/ });

    // Trusted the way an operator adds a CA for GitHub Enterprise Server.
    const certPath = join(dir, 'ca.pem');
    writeFileSync(certPath, cert);
    const module = pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', 'providers', 'http-fetch.js'));
    const child = await runChild(
      [
        '--input-type=module',
        '-e',
        `const { httpFetch } = await import(${JSON.stringify(module.href)});
       const response = await httpFetch(${JSON.stringify(url)});
       process.stdout.write(response.status + ' ' + (await response.text()));`,
      ],
      { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: certPath },
    );
    t.equal(child.stdout, '200 {"ok":1}', child.stderr);
  },
);

t.test("minting a token never loads Node's fetch (undici) into the daemon", async (t) => {
  // What httpFetch is for: undici cost the daemon ~8 MB for good. Run in a
  // child, whose list of loaded modules starts clean.
  const { base } = await serve(t, (request, response) => {
    response.writeHead(request.url!.endsWith('/installation') ? 200 : 201, {
      'content-type': 'application/json',
      date: new Date().toUTCString(),
    });
    response.end(
      request.url!.endsWith('/installation')
        ? '{"id":7}'
        : JSON.stringify({
            token: `ghs_${randomBytes(18).toString('hex')}`,
            expires_at: new Date(Date.now() + 3_600_000).toISOString(),
            permissions: { contents: 'read' },
            repositories: [{ name: 'widgets', full_name: 'acme/widgets' }],
          }),
    );
  });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const keyPath = join(t.testdir(), 'app.pem');
  writeFileSync(keyPath, pem, { mode: 0o600 });
  const provider = pathToFileURL(
    join(REPO_ROOT, 'dist', 'daemon', 'providers', 'github-app.js'),
  ).href;
  const child = await runChild(
    [
      '--input-type=module',
      '-e',
      `import { readFileSync } from 'node:fs';
       const { GitHubAppProvider } = await import(${JSON.stringify(provider)});
       const log = { warn() {}, info() {}, error() {}, debug() {}, child() { return log; } };
       const github = new GitHubAppProvider({ appId: '1', privateKeyPath: 'app.pem',
         privateKeyPem: readFileSync(${JSON.stringify(keyPath)}, 'utf8'),
         apiBaseUrl: ${JSON.stringify(base)}, permissions: { contents: 'read' } },
         { log, now: Date.now });
       const target = { protocol: 'https', host: 'github.com', path: 'acme/widgets' };
       const context = { requestId: 'r', requester: { pid: 1, ppid: 0 }, log };
       const scope = await github.resolveScope(target, {}, context);
       const envelope = await github.getCredential(target, scope, context);
       const undici = process.moduleLoadList.filter((name) => name.includes('undici'));
       process.stdout.write(JSON.stringify({ minted: envelope.secret.startsWith('ghs_'), undici }));`,
    ],
    { ...process.env, NODE_OPTIONS: '' },
  );
  t.same(JSON.parse(child.stdout || '{}'), { minted: true, undici: [] }, child.stderr);
});

/**
 * Runs node with `args` and resolves with what it printed. Not spawnSync:
 * the servers it talks to run in this process, and must keep answering.
 */
async function runChild(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await promisify(execFile)(process.execPath, args, { env, timeout: 30_000 });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { stdout: failed.stdout ?? '', stderr: failed.stderr || failed.message };
  }
}
