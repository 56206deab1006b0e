/**
 * The exit code and output of `get` for each way it can end, through the
 * built helper against a real daemon: one code per kind of outcome, the
 * same as the other commands give (the README's table).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createBrokerWorld, OWNER } from '../fixtures/broker-world.js';
import { runHelper } from '../fixtures/run-helper.js';

const MINT = /\/access_tokens$/;

t.test('get exits 0 with a credential, 1 when refused or failing, 2 on bad input', async (t) => {
  const w = await createBrokerWorld(t.testdir(), {
    installed: ['widgets', 'gadgets'],
    notInstalled: ['secret-plans'],
    integration: { maxAttempts: 2 },
    bareRepos: false,
  });
  t.teardown(() => w.stop());
  // Short: Unix socket paths are limited; nothing listens there.
  const noDaemonDir = await mkdtemp(join(tmpdir(), 'gcb-exit-'));
  t.teardown(() => rm(noDaemonDir, { recursive: true, force: true }));
  const get = (input: string, socket = w.daemon.socketPath) =>
    runHelper(['--socket', socket, 'get'], input, w.env);
  const request = (repo: string, host = w.github.host) =>
    `protocol=http\nhost=${host}\npath=${OWNER}/${repo}.git\n\n`;

  const served = await get(request('widgets'));
  const noDaemon = await get(request('widgets'), join(noDaemonDir, 'none.sock'));
  const noIntegration = await get(request('widgets', '127.0.0.2:9'));
  const denied = await get(request('secret-plans'));
  const badInput = await get('protocol=https\n\n');
  w.github.injectFault({ method: 'POST', path: MINT, status: 503, times: Infinity });
  const upstream = await get(request('gadgets'));
  const outcome = (r: { code: number | null; stdout: string }) => ({
    code: r.code,
    quit: r.stdout === 'quit=1\n',
    credential: /^password=/m.test(r.stdout),
  });

  t.same(outcome(served), { code: 0, quit: false, credential: true }, served.stderr);
  t.same(outcome(noDaemon), { code: 1, quit: false, credential: false }, 'no daemon');
  t.match(noDaemon.stderr, /no broker daemon is listening/);
  t.same(outcome(noIntegration), { code: 1, quit: false, credential: false }, 'no integration');
  t.match(noIntegration.stderr, /no integration is configured for host/);
  t.same(outcome(denied), { code: 1, quit: true, credential: false }, 'denied');
  t.same(outcome(badInput), { code: 2, quit: true, credential: false }, 'bad input');
  t.same(outcome(upstream), { code: 1, quit: false, credential: false }, upstream.stderr);
  t.match(upstream.stderr, /GitHub answered HTTP 503/);
});
