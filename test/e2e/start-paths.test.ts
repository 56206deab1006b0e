/**
 * Where the daemon's files go, tried on the real daemon process: a private
 * socket below a directory others may rename entries in is refused (another
 * user could move the socket's directory aside and put an impostor socket
 * where git's helper connects); a socket, audit log or detached log on
 * /proc or /sys is refused at once (mkdir under /proc never returned); and
 * a start that fails leaves no directory or file it made behind but its
 * audit log, which another daemon may have opened meanwhile.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { recordOutput } from '../fixtures/leak-ledger.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { spawnTied } from '../fixtures/tied-spawn.js';

const INTEGRATIONS = [{ provider: 'command', host: 'git.example.test', command: ['/bin/true'] }];
/** Long enough for a start, short enough that a hang fails one test, not the suite. */
const RUN_LIMIT_MS = 20_000;

interface Run {
  code: number | null;
  /** Set when the run was killed at RUN_LIMIT_MS: it hung. */
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the helper with `args`, killed if it outlives RUN_LIMIT_MS. */
function runBroker(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Tied: a daemon it runs in the foreground dies with the test.
    const child = spawnTied(process.execPath, [HELPER_BIN, ...args], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: RUN_LIMIT_MS,
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      recordOutput(`broker ${args.join(' ')} stderr`, stderr);
      resolve({ code, signal, stderr });
    });
  });
}

/** A fresh directory under /tmp (socket paths must stay short), removed after. */
async function base(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-sp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a config into `dir` and returns its path. */
function writeConfig(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, 'broker.json');
  writeFileSync(
    path,
    JSON.stringify({ integrations: INTEGRATIONS, auditLog: join(dir, 'audit.log'), ...config }),
  );
  return path;
}

function daemonEnv(dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: dir, XDG_STATE_HOME: join(dir, 'state') };
}

t.test(
  'a private socket below a directory every user may write to, without the sticky bit, stops the daemon with the fix',
  { timeout: 60_000 },
  async (t) => {
    const dir = await base(t);
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const socket = join(open, 'run', 'd.sock');
    const config = writeConfig(dir, {});

    const refused = await runBroker(
      ['daemon', '--config', config, '--socket', socket],
      daemonEnv(dir),
    );

    t.equal(refused.signal, null, 'it did not hang');
    t.equal(refused.code, 1, refused.stderr);
    t.match(
      refused.stderr,
      `directory '${open}' above socket directory '${join(open, 'run')}' is writable by every user and has no sticky bit (mode 777, owner uid ${statSync(open).uid}, group ${statSync(open).gid}), so they could move what is in it aside and put another socket in its place; run: chmod go-w '${open}' (or chmod +t '${open}', as /tmp has), or put the socket elsewhere`,
    );
    t.notOk(existsSync(join(open, 'run')), 'no socket directory is left behind');
    // The audit log stays (see failed-start-shared-audit.test.ts), empty.
    t.equal(readFileSync(join(dir, 'audit.log'), 'utf8'), '', 'the audit log stays, empty');

    chmodSync(open, 0o1777);
    const daemon = await startDaemonProcess(dir, { integrations: INTEGRATIONS }, daemonEnv(dir), {
      socketPath: socket,
    });
    t.teardown(() => daemon.stop());
    t.ok(existsSync(socket), 'with the sticky bit, as /tmp has, it listens');
  },
);

t.test(
  'a socket, an audit log or a detached log on /proc or /sys is refused at once',
  { skip: process.platform === 'linux' ? false : 'Linux only', timeout: 120_000 },
  async (t) => {
    const dir = await base(t);
    const plain = writeConfig(dir, {});
    const socket = join(dir, 'run', 'd.sock');
    const socketFix = /; give the socket a path on an ordinary file system/;
    mkdirSync(join(dir, 'group'));
    mkdirSync(join(dir, 'audit'));
    const cases: { name: string; args: string[]; expect: RegExp }[] = [
      {
        name: '--socket under /proc/self',
        args: ['daemon', '--config', plain, '--socket', '/proc/self/gcb/run/d.sock'],
        expect:
          /cannot create socket directory '\/proc\/self\/gcb\/run': '\/proc\/self' is on procfs/,
      },
      {
        name: '--socket under /sys',
        args: ['daemon', '--config', plain, '--socket', '/sys/gcb/run/d.sock'],
        expect: /cannot create socket directory '\/sys\/gcb\/run': '\/sys' is on sysfs/,
      },
      {
        name: 'a group listener under /proc',
        args: [
          'daemon',
          '--config',
          writeConfig(join(dir, 'group'), {
            listeners: [{ socket: '/proc/self/gcb/ci/d.sock', mode: '0660' }],
          }),
          '--socket',
          socket,
        ],
        expect:
          /cannot create socket directory '\/proc\/self\/gcb\/ci': '\/proc\/self' is on procfs/,
      },
      {
        name: 'auditLog under /proc',
        args: [
          'daemon',
          '--config',
          writeConfig(join(dir, 'audit'), { auditLog: '/proc/self/gcb/audit.log' }),
          '--socket',
          socket,
        ],
        expect:
          /cannot create audit log '\/proc\/self\/gcb\/audit\.log': '\/proc\/self' is on procfs, .*; set "auditLog" in the config to a path on an ordinary file system/,
      },
      {
        name: 'daemon --detach --log-file under /proc',
        args: [
          'daemon',
          '--detach',
          '--config',
          plain,
          '--socket',
          socket,
          '--log-file',
          '/proc/self/gcb/d.log',
        ],
        expect:
          /cannot create the broker daemon log '\/proc\/self\/gcb\/d\.log': '\/proc\/self' is on procfs, .*; give --log-file a path on an ordinary file system/,
      },
    ];

    for (const { name, args, expect } of cases) {
      const run = await runBroker(args, daemonEnv(dir));

      t.equal(run.signal, null, `${name}: it did not hang`);
      t.equal(run.code, 1, `${name}: ${run.stderr}`);
      t.match(run.stderr, expect, name);
      if (name.startsWith('--socket')) t.match(run.stderr, socketFix);
    }
    t.notOk(existsSync(join(dir, 'run')), 'no start left a socket directory behind');
  },
);

t.test(
  'a start that fails after making directories leaves none of them but its audit log and the directory holding it',
  { timeout: 60_000 },
  async (t) => {
    const dir = await base(t);
    // The default socket and a listener make nested directories under
    // `made`; the listener after them is refused (its directory is open
    // to others), so the start fails once all of those exist.
    const made = join(dir, 'made');
    const shared = join(dir, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(shared, 0o755);
    const config = writeConfig(dir, {
      auditLog: join(made, 'logs', 'audit.log'),
      listeners: [
        { socket: join(made, 'ci', 'd.sock'), allow: ['acme/*'] },
        { socket: join(shared, 'x.sock'), allow: ['acme/*'] },
      ],
    });
    // An audit log whose directory can be made but whose name cannot be.
    mkdirSync(join(dir, 'long'));
    const tooLong = writeConfig(join(dir, 'long'), {
      auditLog: join(dir, 'made2', 'logs', `${'a'.repeat(300)}.log`),
    });

    const failed = await runBroker(
      ['daemon', '--config', config, '--socket', join(made, 'run', 'd.sock')],
      daemonEnv(dir),
    );
    const failedToo = await runBroker(
      ['daemon', '--config', tooLong, '--socket', join(dir, 'made3', 'd.sock')],
      daemonEnv(dir),
    );

    t.equal(failed.code, 1, failed.stderr);
    t.match(failed.stderr, `socket directory '${shared}' is accessible to other users`);
    t.same(
      readdirSync(made),
      ['logs'],
      'no directory the start made for a socket is left; the audit log stays, with its own',
    );
    t.same(readdirSync(join(made, 'logs')), ['audit.log']);
    t.equal(failedToo.code, 1, failedToo.stderr);
    t.match(failedToo.stderr, /cannot open audit log '.*': ENAMETOOLONG/);
    t.notOk(existsSync(join(dir, 'made2')), 'the audit log directory made before its open failed');
    t.same(readdirSync(shared), [], 'nothing is put in a directory that was refused');
  },
);
