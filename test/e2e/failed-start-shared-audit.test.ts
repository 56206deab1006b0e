/**
 * Two daemons on different sockets share the default audit log. One whose
 * start fails after it created the file must not remove it: the other may
 * have opened it meanwhile, and would go on writing its lines to a deleted
 * file while status said nothing was failing (found in review).
 */
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { recordOutput, recordSecrets } from '../fixtures/leak-ledger.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { runHelper } from '../fixtures/run-helper.js';
import { spawnTied } from '../fixtures/tied-spawn.js';

/** The inode of each file `pid` has open at `path`, read through /proc. */
function openInodes(pid: number, path: string): number[] {
  const fds = join('/proc', String(pid), 'fd');
  return readdirSync(fds)
    .filter((fd) => {
      try {
        return readlinkSync(join(fds, fd)).startsWith(path);
      } catch {
        return false;
      }
    })
    .map((fd) => statSync(join(fds, fd)).ino);
}

t.test(
  "a daemon whose start fails keeps the audit log it created, which another daemon opened meanwhile, and that daemon's next line lands in it",
  { skip: process.platform === 'linux' ? false : 'reads /proc', timeout: 60_000 },
  async (t) => {
    // Under /tmp: a socket path must stay short.
    const dir = await mkdtemp(join(tmpdir(), 'gcb-fa-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    const audit = join(dir, 'state', 'audit.log');
    const secret = `tools_secret_${Math.random().toString(36).slice(2)}`;
    recordSecrets([secret]);
    const script = join(dir, 'mint.mjs');
    await writeFile(
      script,
      `console.log(JSON.stringify({ secret: ${JSON.stringify(secret)}, expiresAt: Math.floor(Date.now() / 1000) + 3600 }));`,
    );
    const integrations = [
      {
        name: 'tools',
        provider: 'command',
        host: 'tools.internal',
        command: [process.execPath, script],
      },
    ];
    const configB = join(dir, 'b', 'broker.json');
    await writeFile(configB, JSON.stringify({ auditLog: audit, integrations }));
    // B's socket: something that accepts and never answers, as a hung
    // daemon would. B's start fails on it only once its ping times out;
    // B is frozen at its first connection (its audit log is open by then,
    // opened before any socket) until A is serving.
    const runB = join(dir, 'runb');
    mkdirSync(runB, { mode: 0o700 });
    const socketB = join(runB, 'd.sock');
    const held: Socket[] = [];
    let frozen!: () => void;
    const bFrozen = new Promise<void>((resolve) => (frozen = resolve));
    let pidB = 0;
    const hung = createServer((connection) => {
      if (held.length === 0) process.kill(pidB, 'SIGSTOP');
      held.push(connection);
      frozen();
    });
    hung.listen(socketB);
    await once(hung, 'listening');
    t.teardown(() => {
      for (const connection of held) connection.destroy();
      hung.close();
    });

    const b = spawnTied(
      process.execPath,
      [HELPER_BIN, 'daemon', '--config', configB, '--socket', socketB],
      {
        env: { PATH: process.env.PATH, HOME: dir, XDG_STATE_HOME: join(dir, 'xdg') },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    pidB = b.pid!;
    let stderrB = '';
    b.stderr!.on('data', (chunk: Buffer) => (stderrB += chunk.toString()));
    const exitedB = once(b, 'exit');
    t.teardown(() => void b.kill('SIGKILL'));
    await bFrozen;
    t.ok(existsSync(audit), 'B created the audit log before its start failed');

    const a = await startDaemonProcess(join(dir, 'a'), { auditLog: audit, integrations });
    t.teardown(() => a.stop());
    process.kill(pidB, 'SIGCONT');
    const [codeB] = await exitedB;
    recordOutput('daemon B stderr', stderrB);
    const got = await runHelper(
      ['--socket', a.socketPath, 'get'],
      'protocol=https\nhost=tools.internal\npath=team/tools.git\n\n',
    );

    t.equal(codeB, 1, stderrB);
    t.match(stderrB, `something is already listening on '${socketB}'`);
    t.ok(existsSync(audit), 'the audit log is still there');
    t.same(openInodes(a.pid, audit), [statSync(audit).ino], 'and it is the file A has open');
    t.equal(got.code, 0, got.stderr);
    t.match(got.stdout, `password=${secret}`);
    const lines = readFileSync(audit, 'utf8').split('\n').filter(Boolean);
    t.same(
      lines.map((line) => (JSON.parse(line) as { event: string }).event),
      ['token.minted'],
      "A's served request is in it",
    );
    t.notMatch(readFileSync(audit, 'utf8'), secret);
  },
);
