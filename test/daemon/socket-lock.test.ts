import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  claimSocketPath,
  ensurePrivateDirectory,
  releaseSocketPath,
} from '../../daemon/socket-file.js';

t.test('creates the socket directory 0700', async (t) => {
  const dir = join(t.testdir(), 'a', 'b');

  ensurePrivateDirectory(dir);

  t.equal(statSync(dir).mode & 0o777, 0o700);
});

t.test('refuses a directory open to others, never advising a chmod of a shared one', async (t) => {
  const shared = t.testdir();
  chmodSync(shared, 0o1777);
  const own = join(shared, 'git-credential-broker');
  mkdirSync(own, { mode: 0o755 });
  chmodSync(own, 0o755);

  t.throws(() => ensurePrivateDirectory(shared), {
    code: 'CONFIG',
    message:
      /mode 1777\); put the socket in a directory of its own, for example --socket '.*git-credential-broker\/daemon\.sock'/,
  });
  t.throws(() => ensurePrivateDirectory(own), {
    code: 'CONFIG',
    message: /mode 755\); run: chmod 700 '/,
  });
});

/** A directory short enough for a Unix socket path (test dirs are too deep). */
function socketDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'gcb-sock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('takes over a stale socket and lock, and refuses while a daemon answers', async (t) => {
  const dir = socketDir(t);
  const socketPath = join(dir, 'daemon.sock');
  writeFileSync(`${socketPath}.lock`, '999999999');
  // A process that listens and is killed leaves the socket file behind.
  spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  t.ok(statSync(socketPath).isSocket(), 'a stale socket file is there');

  await claimSocketPath(socketPath);
  const live = createServer();
  await new Promise<void>((resolve) => live.listen(socketPath, resolve));
  t.teardown(() => live.close());
  await releaseSocketPath(socketPath);

  await t.rejects(claimSocketPath(socketPath), { code: 'CONFIG', message: /already listening on/ });
});

t.test('a lock held by a live process refuses a second daemon', async (t) => {
  const dir = socketDir(t);
  const socketPath = join(dir, 'daemon.sock');
  writeFileSync(`${socketPath}.lock`, String(process.ppid));

  await t.rejects(claimSocketPath(socketPath), {
    code: 'CONFIG',
    message: new RegExp(`pid ${process.ppid}`),
  });
});

t.test('refuses to replace a path that is not a socket', async (t) => {
  const dir = socketDir(t);
  const path = join(dir, 'important.txt');
  writeFileSync(path, 'data\n');

  await t.rejects(claimSocketPath(path), { code: 'CONFIG', message: /exists and is not a socket/ });
  t.equal(readFileSync(path, 'utf8'), 'data\n', 'the file is untouched');
});

t.test('a lock held by a dead daemon that is still a zombie is taken over', async (t) => {
  const dir = socketDir(t);
  const socketPath = join(dir, 'daemon.sock');
  // The inner shell exits at once; its parent, exec'd into sleep, never
  // reaps it, so it stays a zombie, as a killed daemon in a container may.
  const parent = spawn('sh', ['-c', "sh -c 'echo $$' & exec sleep 5"], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.teardown(() => parent.kill('SIGKILL'));
  const zombie = await new Promise<string>((resolve) =>
    parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())),
  );
  await until(() => readFileSync(`/proc/${zombie}/stat`, 'utf8').includes(') Z'));
  writeFileSync(`${socketPath}.lock`, zombie);

  await claimSocketPath(socketPath);

  t.equal(readFileSync(`${socketPath}.lock`, 'utf8'), String(process.pid), 'the lock is ours now');
  await releaseSocketPath(socketPath);
});

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
