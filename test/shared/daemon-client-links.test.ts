/**
 * A symbolic link at the socket path that leads nowhere, through the
 * bundled binary: status, token and git's get say what is there (a link to
 * a missing file, a loop of links) and how to fix it.
 */
import { mkdir, symlink } from 'node:fs/promises';
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
