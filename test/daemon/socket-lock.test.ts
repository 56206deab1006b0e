import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
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
import { LEGACY_LOCK_GRACE_MS } from '../../daemon/socket-lock.js';

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

  // The example would be `own`, which is open to others: none is given.
  t.throws(() => ensurePrivateDirectory(shared), {
    code: 'CONFIG',
    message:
      /mode 1777\); give --socket a path in a directory of your own that only you can reach$/,
  });
  chmodSync(own, 0o700);
  t.throws(() => ensurePrivateDirectory(shared), {
    code: 'CONFIG',
    message:
      /mode 1777\); put the socket in a directory of its own, for example --socket '.*git-credential-broker\/daemon\.sock'/,
  });
  chmodSync(own, 0o755);
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
  // Silent, as a hung daemon: reads the ping claimSocketPath sends (unread,
  // its connection would keep close() waiting) and never answers.
  const live = createServer((connection) => connection.on('error', () => {}).resume());
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

  t.same(lockOwners(socketPath), [String(process.pid)], 'the lock is ours now');
  await releaseSocketPath(socketPath);
});

t.test(
  'a lock naming a live process that is no broker daemon (a reused pid) is taken over',
  { skip: process.platform !== 'linux' && 'only Linux tells what a pid runs' },
  async (t) => {
    const dir = socketDir(t);
    const socketPath = join(dir, 'daemon.sock');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    t.teardown(() => sleeper.kill('SIGKILL'));
    // Until exec: before it, the child is a copy of this node process.
    await until(() => readFileSync(`/proc/${sleeper.pid!}/cmdline`, 'utf8').startsWith('sleep'));
    leftLock(socketPath, sleeper.pid!);

    await claimSocketPath(socketPath);

    t.same(lockOwners(socketPath), [String(process.pid)], 'the lock is ours now');
    t.equal(sleeper.exitCode, null, 'and the sleep process was left alone');
    await releaseSocketPath(socketPath);
  },
);

t.test('an owner entry that is a directory is reported as such, not as a race', async (t) => {
  const dir = socketDir(t);
  const socketPath = join(dir, 'daemon.sock');
  const lock = `${socketPath}.lock`;
  // A dead pid's entry, but a directory: unlink could never free it.
  mkdirSync(join(lock, 'owner-999999999-0123456789abcdef'), { recursive: true });

  await t.rejects(claimSocketPath(socketPath), {
    message: `'${lock}' is not a broker daemon's lock (it holds a directory named 'owner-999999999-0123456789abcdef', not an owner entry); remove it if no daemon runs on '${socketPath}'`,
  });
});

/** The pids the lock directory names, in the entries' order. */
function lockOwners(socketPath: string): string[] {
  return readdirSync(`${socketPath}.lock`).map(
    (entry) => /^owner-(\d+)-[0-9a-f]{16}$/.exec(entry)?.[1] ?? `unexpected entry ${entry}`,
  );
}

/** A lock as a daemon of this release leaves it when it is killed. */
function leftLock(socketPath: string, pid: number): string {
  const lock = `${socketPath}.lock`;
  mkdirSync(lock);
  writeFileSync(join(lock, `owner-${pid}-0123456789abcdef`), '');
  return lock;
}

t.test(
  'the lock names its owner from the moment it exists, and is gone once released',
  async (t) => {
    const dir = socketDir(t);
    const socketPath = join(dir, 'daemon.sock');

    await claimSocketPath(socketPath);
    const owners = lockOwners(socketPath);
    const beside = readdirSync(dir);
    await releaseSocketPath(socketPath);

    t.same(owners, [String(process.pid)]);
    t.same(beside, ['daemon.sock.lock'], 'no staging directory is left beside it');
    t.notOk(existsSync(`${socketPath}.lock`), 'released');
  },
);

t.test('a lock left by a killed daemon is taken over; a live owner is refused', async (t) => {
  const dir = socketDir(t);
  const stale = join(dir, 'stale.sock');
  const live = join(dir, 'live.sock');
  leftLock(stale, 999_999_999);
  const lock = leftLock(live, process.ppid);

  await claimSocketPath(stale);
  const staleOwners = lockOwners(stale);
  await releaseSocketPath(stale);
  await t.rejects(claimSocketPath(live), {
    code: 'CONFIG',
    message: `another broker daemon (pid ${process.ppid}) holds '${live}'; stop it first (kill -TERM ${process.ppid}), or choose another path with --socket`,
  });

  t.same(staleOwners, [String(process.pid)], 'the stale lock is ours');
  t.same(lockOwners(live), [String(process.ppid)], "the live owner's lock is untouched");
  t.same(readdirSync(lock).length, 1);
});

t.test('releasing a lock this process does not hold leaves it alone', async (t) => {
  const dir = socketDir(t);
  const socketPath = join(dir, 'daemon.sock');
  leftLock(socketPath, process.ppid);

  await releaseSocketPath(socketPath);

  t.same(lockOwners(socketPath), [String(process.ppid)]);
});

t.test('a lock file found empty is held while young, and taken over once old', async (t) => {
  // A release before this one created its lock file first and wrote its
  // pid after: one read in between was empty, and the reader removed it.
  const dir = socketDir(t);
  const socketPath = join(dir, 'daemon.sock');
  const lock = `${socketPath}.lock`;
  writeFileSync(lock, '');

  const young = claimSocketPath(socketPath);
  await t.rejects(young, {
    code: 'CONFIG',
    message: `another broker daemon is starting on '${socketPath}' (its lock '${lock}' has no pid yet); wait for it, or remove the lock if no daemon runs`,
  });
  t.equal(readFileSync(lock, 'utf8'), '', 'the young lock is left where it was');

  const old = (Date.now() - LEGACY_LOCK_GRACE_MS - 1000) / 1000;
  utimesSync(lock, old, old);
  await claimSocketPath(socketPath);

  t.same(lockOwners(socketPath), [String(process.pid)], 'the old empty lock was taken over');
  await releaseSocketPath(socketPath);
});

t.test('a lock holding something no daemon wrote is refused and left alone', async (t) => {
  const dir = socketDir(t);
  const socketPath = join(dir, 'daemon.sock');
  const lock = `${socketPath}.lock`;
  mkdirSync(lock);
  writeFileSync(join(lock, 'notes.txt'), 'mine');

  await t.rejects(claimSocketPath(socketPath), {
    code: 'CONFIG',
    message: `'${lock}' is not a broker daemon's lock (it holds 'notes.txt'); remove it if no daemon runs on '${socketPath}'`,
  });
  t.equal(readFileSync(join(lock, 'notes.txt'), 'utf8'), 'mine');
});

t.test('a staging directory a killed starter left is swept by the next daemon', async (t) => {
  const dir = socketDir(t);
  const socketPath = join(dir, 'daemon.sock');
  const litter = `${socketPath}.lock.owner-999999999-0123456789abcdef`;
  mkdirSync(litter);
  writeFileSync(join(litter, 'owner-999999999-0123456789abcdef'), '');

  await claimSocketPath(socketPath);
  await releaseSocketPath(socketPath);

  t.same(readdirSync(dir), []);
});

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
