/**
 * A client the socket does not let in is told what would: membership of the
 * group a listener socket is open to, the daemon's user for a private one,
 * or a way through a closed directory. Run as root, with the client as
 * `nobody` through setpriv: the kernel's EACCES, not a stub's.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { cleanEnv } from '../fixtures/clean-env.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';

const isRoot = process.getuid?.() === 0;
/** A group nobody (65534) is not in; adm is gid 4 on Debian-like systems. */
const GROUP_GID = 4;

function statusAsNobody(socket: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        ...cleanEnv({ HOME: '/tmp' }),
        process.execPath,
        HELPER_BIN,
        'status',
        '--socket',
        socket,
      ],
      { timeout: 20_000 },
      (error, _stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

t.test(
  'permission denied says what would let this user in',
  { skip: isRoot ? false : 'needs root to run a client as another uid' },
  async (t) => {
    const dir = mkdtempSync('/tmp/gcb-access-');
    chmodSync(dir, 0o711);
    mkdirSync(join(dir, 'closed'), { mode: 0o700 });
    const grouped = join(dir, 'g.sock');
    const own = join(dir, 'p.sock');
    const behind = join(dir, 'closed', 'c.sock');
    const servers = await Promise.all([grouped, own, behind].map(listen));
    t.teardown(() => {
      for (const server of servers) server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    chownSync(grouped, 0, GROUP_GID);
    chmodSync(grouped, 0o660);
    chmodSync(own, 0o600);

    const toGroup = await statusAsNobody(grouped);
    t.equal(toGroup.code, 1);
    t.match(toGroup.stderr, `permission denied on the broker socket '${grouped}'`);
    t.match(
      toGroup.stderr,
      new RegExp(`open to the group .*\\(?gid ${GROUP_GID}\\)?: run git as a member of that group`),
    );
    t.notMatch(toGroup.stderr, /run git as the user that runs the daemon$/m);

    const toOwner = await statusAsNobody(own);
    t.equal(toOwner.code, 1);
    t.match(
      toOwner.stderr,
      /only its owner \(uid 0\) may connect: run git as that user, or ask for a listener socket open to your group \(listeners\[\]\.group\)/,
    );

    const closed = await statusAsNobody(behind);
    t.equal(closed.code, 1);
    t.match(closed.stderr, /a directory on the way to it does not let this user through/);
    for (const { stderr } of [toGroup, toOwner, closed]) {
      // The helper's own exit and words: no crash of node or of tap's hook.
      t.notMatch(stderr, /Node\.js v|processinfo|^\s+at /m, 'only the helper speaks on stderr');
    }
  },
);
