/**
 * Real daemon processes started at once on one socket, where a daemon was
 * killed: exactly one takes over its lock and serves, and every other one
 * exits saying which daemon holds the socket.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import t from 'tap';
import { sendRequest } from '../../shared/daemon-client.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { createBrokerWorld, OWNER } from '../fixtures/broker-world.js';
import { recordOutput } from '../fixtures/leak-ledger.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { runHelper } from '../fixtures/run-helper.js';

const DAEMONS = 5;

t.test('daemons started at once after a SIGKILL: exactly one serves', async (t) => {
  const w = await createBrokerWorld(t.testdir());
  t.teardown(() => w.stop());
  const { socketPath, configPath } = w.daemon;
  w.daemon.signal('SIGKILL');
  await w.daemon.exited;

  const starts = Array.from({ length: DAEMONS }, () => {
    const child = spawn(
      process.execPath,
      [HELPER_BIN, 'daemon', '--config', configPath, '--socket', socketPath],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    t.teardown(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let code: number | null | 'running' = 'running';
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (exitCode) => {
        code = exitCode;
        resolve();
      }),
    );
    return { child, exited, code: () => code, stderr: () => stderr };
  });
  // Every loser exits at once; the winner runs on (bounded, if there were two).
  const deadline = Date.now() + 15_000;
  while (starts.filter((start) => start.code() !== 'running').length < DAEMONS - 1) {
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  while (!(await answers(socketPath)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const exits = starts.map((start) => start.code());
  const running = starts.filter((start) => start.code() === 'running');
  const status = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'status' });
  const get = await runHelper(
    ['--socket', socketPath, 'get'],
    `protocol=http\nhost=${w.github.host}\npath=${OWNER}/widgets.git\n\n`,
  );
  const lockEntries = readdirSync(`${socketPath}.lock`);

  t.equal(running.length, 1, `one daemon runs; exits: ${exits.join(', ')}`);
  const winner = running[0]!.child.pid!;
  t.equal(status.ok && status.status?.pid, winner, 'the one running answers on the socket');
  t.match(lockEntries, [new RegExp(`^owner-${winner}-`)], 'and holds the lock');
  t.equal(get.code, 0, get.stderr);
  for (const [i, start] of starts.entries()) {
    if (exits[i] === 'running') continue;
    t.equal(exits[i], 1, 'a loser exits 1');
    t.match(start.stderr(), `another broker daemon (pid ${winner}) holds '${socketPath}'`);
  }

  running[0]!.child.kill('SIGTERM');
  await running[0]!.exited;
  const outputs = Object.fromEntries(starts.map((start, i) => [`daemon ${i}`, start.stderr()]));
  for (const [name, text] of Object.entries(outputs)) recordOutput(name, text);
  assertNoSecrets(t, outputs, w.github.issuedTokens());
});

async function answers(socketPath: string): Promise<boolean> {
  try {
    return (await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'ping' }, 1000)).ok;
  } catch {
    return false;
  }
}
