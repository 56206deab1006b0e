/**
 * A symbolic link at the socket path that leads nowhere, through the
 * bundled binary: status, token and git's get say what is there (a link to
 * a missing file, a loop of links) and how to fix it.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { isolatedGitHome } from '../fixtures/git.js';
import { runHelper } from '../fixtures/run-helper.js';

const GET = 'protocol=https\nhost=github.com\npath=acme/widgets\n\n';

/** status, token and get on `socket`, with no daemon and no config anywhere. */
async function runAll(socket: string, env: NodeJS.ProcessEnv) {
  return [
    await runHelper(['status', '--socket', socket], '', env),
    await runHelper(['token', 'acme/widgets', '--socket', socket], '', env),
    await runHelper(['--socket', socket, 'get'], GET, env),
  ];
}

t.test('a link to a socket that does not exist says so, and how to fix it', async (t) => {
  const home = await isolatedGitHome(t, 'gcb-link-');
  const link = join(home.dir, 'broker.sock');
  await symlink('gone/daemon.sock', link);

  for (const run of await runAll(link, home.env)) {
    t.equal(run.code, 1);
    t.match(
      run.stderr,
      `'${link}' is a symbolic link to 'gone/daemon.sock', which does not exist, so no daemon can be reached through it; start the daemon there (git-credential-broker daemon --detach --socket ${join(home.dir, 'gone/daemon.sock')}), point the link at the daemon's socket (ln -sfn SOCKET ${link}), or remove it (rm ${link})`,
    );
    t.notMatch(run.stderr, /no broker daemon is listening/);
  }
});

t.test('a link that loops back to itself says so, and how to fix it', async (t) => {
  const home = await isolatedGitHome(t, 'gcb-link-');
  const link = join(home.dir, 'a.sock');
  await symlink('b.sock', link);
  await symlink('a.sock', join(home.dir, 'b.sock'));

  for (const run of await runAll(link, home.env)) {
    t.equal(run.code, 1);
    t.match(
      run.stderr,
      `'${link}' is a symbolic link to 'b.sock' that leads back to itself (a loop of links), so no daemon can be reached through it; remove the link (rm ${link})`,
    );
    t.notMatch(run.stderr, /: ELOOP$/m, 'not the bare error code');
  }
});

t.test('a directory link in a loop on the way to the socket is named as such', async (t) => {
  const home = await isolatedGitHome(t, 'gcb-link-');
  await mkdir(join(home.dir, 'real'));
  await symlink('loop-b', join(home.dir, 'loop-a'));
  await symlink('loop-a', join(home.dir, 'loop-b'));
  const socket = join(home.dir, 'loop-a', 'd.sock');

  for (const run of await runAll(socket, home.env)) {
    t.equal(run.code, 1);
    t.match(
      run.stderr,
      `a directory on the way to '${socket}' is a symbolic link in a loop, so the path leads nowhere`,
    );
  }
});

t.test('a chain of links names the missing file it ends at, not its second link', async (t) => {
  // Found in review: `chain -> dangling -> nowhere` said 'dangling' did not exist.
  const home = await isolatedGitHome(t, 'gcb-link-');
  const link = join(home.dir, 'chain');
  await symlink('dangling', link);
  await symlink('nowhere', join(home.dir, 'dangling'));
  const end = join(home.dir, 'nowhere');

  for (const run of await runAll(link, home.env)) {
    t.equal(run.code, 1);
    t.match(
      run.stderr,
      `'${link}' is a symbolic link to 'dangling', a chain of 2 links that ends at '${end}', which does not exist, so no daemon can be reached through it; start the daemon there (git-credential-broker daemon --detach --socket ${end})`,
    );
  }
});

t.test('a link to a stale socket names both, and advises the target, not the link', async (t) => {
  // Found in review: it advised `daemon --detach --socket LINK`, which the daemon refuses.
  const home = await isolatedGitHome(t, 'gcb-link-');
  const stale = join(home.dir, 'stale.sock');
  // A process that listens and is killed leaves its socket file behind.
  spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  const link = join(home.dir, 'link.sock');
  await symlink('stale.sock', link);

  for (const run of await runAll(link, home.env)) {
    t.equal(run.code, 1);
    t.match(
      run.stderr,
      `'${link}' is a symbolic link to 'stale.sock', a socket no broker daemon is listening on (stale socket); a daemon does not listen through a link: start it on the link's end (git-credential-broker daemon --detach --socket ${stale}), or remove the link (rm ${link})`,
    );
    t.notMatch(run.stderr, `--socket ${link}`, 'the daemon is not sent to the link');
  }
});

t.test('a link to a regular file says it is a link', async (t) => {
  const home = await isolatedGitHome(t, 'gcb-link-');
  await writeFile(join(home.dir, 'notes.txt'), 'not a socket\n');
  const link = join(home.dir, 'broker.sock');
  await symlink('notes.txt', link);

  for (const run of await runAll(link, home.env)) {
    t.equal(run.code, 1);
    t.match(
      run.stderr,
      `'${link}' is a symbolic link to 'notes.txt', which is a regular file, not a socket: no daemon can listen there; remove the link (rm ${link})`,
    );
  }
});
