/**
 * Children the fixtures start die with the test process that started them,
 * even when it is SIGKILLed (as tap does to a test file past its time
 * limit), and are still what the tests expect: the daemon's own pid.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { REPO_ROOT } from '../fixtures/repo-root.js';
import { pdeathsigSetpriv } from '../fixtures/tied-spawn.js';

// The compiled fixture: the parent is a plain node process, as a test file
// is once tap has loaded it. `npm run build` compiles test/ beside the rest.
const DAEMON_PROCESS = pathToFileURL(
  join(REPO_ROOT, 'dist', 'test', 'fixtures', 'daemon-process.js'),
).href;

/** Starts a daemon through the fixture, prints its pid and socket, then waits to be killed. */
const PARENT = `
const { startDaemonProcess } = await import(process.argv[1]);
const daemon = await startDaemonProcess(process.argv[2], {
  integrations: [
    { name: 'tools', provider: 'command', host: 'tools.internal', command: ['true'], timeoutSeconds: 5 },
  ],
});
console.log(JSON.stringify({ pid: daemon.pid, socketPath: daemon.socketPath }));
setInterval(() => {}, 1000);
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, deadlineMs: number): Promise<boolean> {
  while (Date.now() < deadlineMs) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

t.test(
  'a daemon started through the fixture dies with a parent that was SIGKILLed',
  { skip: pdeathsigSetpriv() === null ? 'needs setpriv with --pdeathsig (util-linux)' : false },
  async (t) => {
    const parent = spawn(
      process.execPath,
      ['--input-type=module', '-e', PARENT, DAEMON_PROCESS, t.testdir()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    parent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    parent.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const parentExited = new Promise((resolve) => parent.once('exit', resolve));
    const started: { daemon?: { pid: number; socketPath: string } } = {};
    t.teardown(async () => {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
      const { daemon } = started;
      if (daemon === undefined) return;
      // Only if this test failed: never leave the daemon running.
      if (alive(daemon.pid)) process.kill(daemon.pid, 'SIGKILL');
      await rm(dirname(dirname(daemon.socketPath)), { recursive: true, force: true });
    });
    const startDeadline = Date.now() + 30_000;
    while (!output.includes('\n') && parent.exitCode === null && Date.now() < startDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const daemon = JSON.parse(output.split('\n')[0]!) as { pid: number; socketPath: string };
    started.daemon = daemon;
    const cmdline = readFileSync(`/proc/${daemon.pid}/cmdline`, 'utf8').split('\0');

    parent.kill('SIGKILL');
    await parentExited;
    const died = await gone(daemon.pid, Date.now() + 15_000);

    t.equal(cmdline[0], process.execPath, 'the pid reported is the daemon itself, not setpriv');
    t.ok(cmdline.includes('daemon'), cmdline.join(' '));
    t.ok(died, `daemon ${daemon.pid} was gone within 15 s of its parent's death`);
  },
);
