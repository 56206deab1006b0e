/**
 * A reader that leaves early (`status --json | head -c 300`): the built
 * helper exits quietly with a closed pipe's code, not an EPIPE stack trace.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { CLOSED_STDOUT_EXIT_CODE } from '../../helper/closed-stdout.js';
import { fakeDaemon } from '../fixtures/cli-world.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { VERSION } from '../../shared/version.js';

t.test('status --json into a pipe closed early exits quietly with 141', async (t) => {
  // A status far larger than a pipe's buffer, so the write meets the closed end.
  const cache = Array.from({ length: 20_000 }, (_, i) => ({
    integration: 'tools',
    repository: `team/repository-${i}`,
    permissions: { contents: 'read' },
    expiresAtMs: 0,
    staleAtMs: 0,
  }));
  // Every field status reads, so the status is printed, not refused for its shape.
  const status = {
    version: VERSION,
    pid: 4242,
    startedAtMs: 0,
    socket: '/run/fake.sock',
    config: '/etc/broker.json',
    auditLog: '/var/log/audit.log',
    integrations: [],
    listeners: [],
    counters: { hits: 0, misses: 0, mints: 0, denied: 0, errors: 0 },
    cache,
  };
  const socketPath = await fakeDaemon(t, { v: 1, ok: true, status });
  const child = spawn(process.execPath, [HELPER_BIN, 'status', '--json', '--socket', socketPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  // What head -c does: read a little, then close its end.
  const first = await new Promise<string>((resolve) =>
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())),
  );
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

  t.match(first, /^\{\n {2}"running": true/);
  t.equal(code, CLOSED_STDOUT_EXIT_CODE);
  t.equal(stderr, '', 'no stack trace, nothing at all');
});
