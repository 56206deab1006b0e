/**
 * A start refused because another daemon holds the socket says how to stop
 * that daemon in a way that works: `stop` on its own socket, never on a
 * listener (which refuses stop), and SIGTERM when which it is cannot be read.
 * The holders are real processes, started with a daemon's arguments.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { claimSocketPath } from '../../daemon/socket-file.js';

function socketDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-hsa-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A live process whose arguments read as `daemon --socket <own>`. */
function fakeDaemon(t: Test, ownSocket: string): number {
  const child = spawn(
    process.execPath,
    ['-e', 'setInterval(() => {}, 60_000)', 'daemon', '--socket', ownSocket],
    { stdio: 'ignore' },
  );
  t.teardown(() => void child.kill('SIGKILL'));
  return child.pid!;
}

function lockHeldBy(socketPath: string, pid: number): void {
  mkdirSync(`${socketPath}.lock`);
  writeFileSync(join(`${socketPath}.lock`, `owner-${pid}-0123456789abcdef`), '');
}

async function refusal(socketPath: string): Promise<string> {
  const error = await claimSocketPath(socketPath).then(
    () => undefined,
    (thrown: unknown) => thrown as Error,
  );
  return error?.message ?? '';
}

t.test('a listener held by another daemon points to stop on its own socket', async (t) => {
  const dir = socketDir(t);
  const own = join(dir, 'op', 'd.sock');
  const listener = join(dir, 'ci.sock');
  const pid = fakeDaemon(t, own);
  lockHeldBy(listener, pid);

  const message = await refusal(listener);

  t.equal(
    message,
    `another broker daemon (pid ${pid}) holds '${listener}'; stop it first (git-credential-broker stop --socket ${own}, its own socket: '${listener}' is one of its listeners, which refuse stop when they have a client policy; or kill -TERM ${pid}), or choose another path with --socket`,
  );
  t.notMatch(message, `stop --socket ${listener}`, 'never stop on the listener');
});

t.test('a daemon on its own socket is told to stop there, quoted for the shell', async (t) => {
  const dir = socketDir(t);
  const odd = join(dir, "it's here.sock");
  const pid = fakeDaemon(t, odd);
  lockHeldBy(odd, pid);

  const message = await refusal(odd);

  const command = /stop it first \((.*)\), or choose/.exec(message)?.[1] ?? '';
  t.equal(command, `git-credential-broker stop --socket '${dir}/it'\\''s here.sock'`);
  const echoed = spawnSync('bash', ['-c', `printf %s ${command.slice(command.indexOf("'"))}`], {
    encoding: 'utf8',
  });
  t.equal(echoed.stdout, odd, 'the shell reads it back as the one path');
});

t.test('a holder whose arguments cannot be read is to be stopped by pid', async (t) => {
  const dir = socketDir(t);
  const socketPath = join(dir, 'd.sock');
  // Not started as `daemon`: nothing says which socket is its own.
  lockHeldBy(socketPath, process.ppid);

  t.match(await refusal(socketPath), `stop it first (kill -TERM ${process.ppid})`);
});
