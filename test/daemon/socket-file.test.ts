import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  claimSocketPath,
  ensurePrivateDirectory,
  socketAnswers,
} from '../../daemon/socket-file.js';

// Socket paths must stay short (~104 bytes), so not under t.testdir().
async function shortDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-sf-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** `theirs` in `dir`, with `mode`, given to uid 4242 (a user who is not this one): needs root. */
function theirDirectory(dir: string, mode: number): string {
  const theirs = join(dir, 'theirs');
  mkdirSync(theirs, { mode });
  chownSync(theirs, 4242, 4242);
  return theirs;
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

t.test('creates every missing directory 0700 even under a permissive umask', async (t) => {
  const dir = await shortDir(t);
  const previous = process.umask(0);
  t.teardown(() => process.umask(previous));

  ensurePrivateDirectory(join(dir, 'a', 'b'));

  t.equal(modeOf(join(dir, 'a')), 0o700);
  t.equal(modeOf(join(dir, 'a', 'b')), 0o700);
});

t.test('refuses a directory open to others and prints the chmod that fixes it', async (t) => {
  const dir = await shortDir(t);
  const open = join(dir, 'git-credential-broker');
  mkdirSync(open);
  chmodSync(open, 0o750);

  t.throws(() => ensurePrivateDirectory(open), {
    code: 'CONFIG',
    message: `socket directory '${open}' is accessible to other users (mode 750); run: chmod 700 '${open}'`,
  });
  t.equal(modeOf(open), 0o750, 'it does not silently change what it found');
});

const asRoot = process.getuid?.() === 0;

t.test(
  'refuses a directory that belongs to another user',
  {
    skip: asRoot ? false : 'needs root to create a directory owned by someone else',
  },
  async (t) => {
    const dir = await shortDir(t);
    const theirs = theirDirectory(dir, 0o700);

    t.throws(() => ensurePrivateDirectory(theirs), {
      code: 'CONFIG',
      message:
        /belongs to uid 4242, not to this user \(uid 0\); give --socket a path in a directory of your own$/,
    });
  },
);

t.test('refuses to claim a socket another daemon answers on', async (t) => {
  const dir = await shortDir(t);
  const socketPath = join(dir, 'run', 'd.sock');
  ensurePrivateDirectory(join(dir, 'run'));
  // Silent, as a hung daemon: reads the ping claimSocketPath sends (unread,
  // its connection would keep close() waiting) and never answers.
  const live = createServer((connection) => connection.on('error', () => {}).resume());
  await new Promise<void>((resolve) => live.listen(socketPath, resolve));
  t.teardown(() => new Promise<void>((resolve) => live.close(() => resolve())));

  await t.rejects(claimSocketPath(socketPath), {
    code: 'CONFIG',
    message: /is already listening on .* and did not answer as a broker daemon/,
  });
  t.ok(await socketAnswers(socketPath), 'the running daemon keeps its socket');
});

t.test('removes the socket a crashed daemon left behind', async (t) => {
  const dir = await shortDir(t);
  const socketPath = join(dir, 'run', 'd.sock');
  ensurePrivateDirectory(join(dir, 'run'));
  // A process that listens, then dies without cleaning up.
  const child = spawn(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await new Promise((resolve) => child.once('exit', resolve));
  t.ok(existsSync(socketPath), 'the crash left a socket file');

  await claimSocketPath(socketPath);

  t.notOk(existsSync(socketPath));
});

t.test('refuses to remove a file at the socket path that is not a socket', async (t) => {
  const dir = await shortDir(t);
  const path = join(dir, 'run', 'notes.txt');
  ensurePrivateDirectory(join(dir, 'run'));
  writeFileSync(path, 'mine');

  await t.rejects(claimSocketPath(path), { code: 'CONFIG', message: /is not a socket/ });
  t.ok(existsSync(path));
});

t.test(
  'a directory given as the socket path is named as the mistake it is, with an example only where the daemon would listen',
  async (t) => {
    const dir = await shortDir(t);
    // Open to others: the parent's mode is not what went wrong, and no
    // socket below it would be taken, so no example is given.
    const shared = join(dir, 'shared');
    mkdirSync(join(shared, 'sockets'), { recursive: true });
    chmodSync(shared, 0o777);
    // Shared as /tmp is: a directory of its own below it would be taken.
    const sticky = join(dir, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const own = join(dir, 'own');
    mkdirSync(own, { mode: 0o700 });

    await t.rejects(claimSocketPath(join(shared, 'sockets')), {
      code: 'CONFIG',
      message: `'${join(shared, 'sockets')}' is a directory; --socket takes the socket file's path, not its directory's: give it a socket file's path in a directory of your own`,
    });
    await t.rejects(claimSocketPath(sticky, undefined, 'listeners[2].socket'), {
      code: 'CONFIG',
      message: `'${sticky}' is a directory; listeners[2].socket in the config takes the socket file's path, not its directory's, for example "${join(sticky, 'git-credential-broker', 'daemon.sock')}"`,
    });
    await t.rejects(claimSocketPath(own), {
      code: 'CONFIG',
      message: `'${own}' is a directory; --socket takes the socket file's path, not its directory's, for example --socket '${join(own, 'daemon.sock')}'`,
    });
    t.notMatch(
      await claimSocketPath(sticky).catch((error: Error) => error.message),
      'move it',
      'never told to move a directory away',
    );
  },
);

t.test(
  'a private socket below a directory every user may write to, without the sticky bit, is refused with the chmod, and nothing made is left',
  async (t) => {
    const dir = await shortDir(t);
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const socketDir = join(open, 'x', 'y');

    t.throws(() => ensurePrivateDirectory(socketDir), {
      code: 'CONFIG',
      message: `directory '${open}' above socket directory '${socketDir}' is writable by every user and has no sticky bit (mode 777, owner uid ${statSync(open).uid}, group ${statSync(open).gid}), so they could move what is in it aside and put another socket in its place; run: chmod go-w '${open}' (or chmod +t '${open}', as /tmp has), or put the socket elsewhere`,
    });
    t.notOk(existsSync(join(open, 'x')), 'the directories it made are removed again');
    t.equal(modeOf(open), 0o777, 'a directory it did not make is never changed');

    chmodSync(open, 0o1777);
    t.same(
      ensurePrivateDirectory(socketDir),
      [join(open, 'x'), socketDir],
      'with the sticky bit, as /tmp has, it is fine',
    );
  },
);

t.test('a directory above writable by its group only is told chmod g-w', async (t) => {
  const dir = await shortDir(t);
  const shared = join(dir, 'team');
  mkdirSync(shared);
  chmodSync(shared, 0o770);

  t.throws(() => ensurePrivateDirectory(join(shared, 'run')), {
    code: 'CONFIG',
    message: new RegExp(
      `directory '${shared}' above socket directory '${shared}/run' is writable by members of group \\d+ and has no sticky bit .*; run: chmod g-w '${shared}'`,
    ),
  });
});

t.test(
  'a private socket directory reached through a symbolic link is judged by where it leads too',
  async (t) => {
    const dir = await shortDir(t);
    const open = join(dir, 'open');
    mkdirSync(join(open, 'real'), { recursive: true, mode: 0o700 });
    chmodSync(open, 0o777);
    const link = join(dir, 'link');
    symlinkSync(join(open, 'real'), link);

    t.throws(() => ensurePrivateDirectory(link), {
      code: 'CONFIG',
      message: new RegExp(
        `^directory '${open}' above socket directory '${link}' is writable by every user`,
      ),
    });
  },
);

t.test(
  'a private socket below a directory another user owns is refused; one of root or this user is fine',
  { skip: asRoot ? false : 'needs root to give a directory to someone else' },
  async (t) => {
    const dir = await shortDir(t);
    const theirs = theirDirectory(dir, 0o755);

    t.throws(() => ensurePrivateDirectory(join(theirs, 'run')), {
      code: 'CONFIG',
      message: `directory '${theirs}' above socket directory '${join(theirs, 'run')}' belongs to uid 4242, who could move what is in it aside and put another socket in its place; put the socket under directories that only root or this user (uid 0) own`,
    });
    t.notOk(existsSync(join(theirs, 'run')), 'the directory it made is removed again');
  },
);

t.test(
  "a directory above that is a link to another user's directory is named with where it leads",
  { skip: asRoot ? false : 'needs root to give a directory to someone else' },
  async (t) => {
    const dir = await shortDir(t);
    const theirs = theirDirectory(dir, 0o755);
    const link = join(dir, 'link');
    symlinkSync(theirs, link);

    t.throws(() => ensurePrivateDirectory(join(link, 'run')), {
      code: 'CONFIG',
      message: `directory '${link}' (a symbolic link to '${theirs}') above socket directory '${join(link, 'run')}' belongs to uid 4242, who could move what is in it aside and put another socket in its place; put the socket under directories that only root or this user (uid 0) own`,
    });
    t.notOk(existsSync(join(theirs, 'run')), 'the directory it made is removed again');
  },
);
