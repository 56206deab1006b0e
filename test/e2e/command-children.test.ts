/**
 * No program a `command` provider started outlives the daemon, nor its own
 * timeout: a real daemon process running a program that ignores SIGTERM
 * and starts a grandchild, reached through the built helper.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { processExists } from '../../helper/process-exists.js';
import { commandDaemon, commandGet } from '../fixtures/command-daemon.js';
import type { DaemonProcess } from '../fixtures/daemon-process.js';
import { runHelper } from '../fixtures/run-helper.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';

t.jobs = 2;

/**
 * A program that writes its pid and its child's to `pids`, ignores SIGTERM
 * (and so does the child, which inherits that), and never prints a
 * credential: it waits on its child, which sleeps until killed. A shell
 * script, as it starts at once where a node one may take most of a second.
 */
async function stubbornProgram(dir: string): Promise<{ command: string[]; pids: string }> {
  const script = join(dir, 'stubborn.sh');
  const pids = join(dir, 'pids');
  await writeFile(
    script,
    `trap '' TERM
sleep 300 &
echo "$$ $!" > '${pids}'
wait
`,
  );
  return { command: ['/bin/sh', script], pids };
}

/** The two pids once the program has written them. */
async function startedPids(path: string): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.endsWith('\n')) return text.trim().split(' ').map(Number);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the program did not start');
}

/** Whether every one of `pids` is gone within `ms` (a killed process is reaped by init). */
async function allGone(pids: number[], ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(processExists)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !pids.some(processExists);
}

function killedRecords(daemon: DaemonProcess): Record<string, unknown>[] {
  return daemon
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => /^killed a credential command/.test(String(record.msg)));
}

t.test(
  'a shutdown that runs out of time kills a program that ignores SIGTERM, and what it started',
  async (t) => {
    const dir = t.testdir();
    const { command, pids } = await stubbornProgram(dir);
    const daemon = await commandDaemon(t, dir, command, 60, { shutdownTimeoutSeconds: 1 });
    const inFlight = commandGet(daemon);
    const [child, grandchild] = await startedPids(pids);

    const stop = await runHelper(['stop', '--socket', daemon.socketPath], '');
    const code = await daemon.exited;
    const answered = await inFlight;

    t.equal(stop.code, 0, stop.stderr);
    t.equal(code, 0, 'the daemon exited cleanly');
    t.ok(await allGone([child!, grandchild!]), 'neither the program nor its child outlives it');
    t.match(
      killedRecords(daemon),
      [
        {
          level: 40,
          pid: child,
          integration: 'tools',
          command: '/bin/sh',
          repository: 'team/tools',
          signal: 'SIGKILL',
          msg: /shutdown ran out of time/,
        },
      ],
      'the log names the program it killed',
    );
    t.notMatch(daemon.output(), command[1]!, 'by its program, not its arguments');
    // Its client gets the cut-off reply (the log names the program killed).
    t.match(
      answered.stderr,
      /stopped before it could answer this request: its shutdown deadline \(.*\) passed/,
    );
    assertNoSecrets(t, { daemon: daemon.output(), stop: stop.stderr }, []);
  },
);

t.test(
  'a program past its timeout that ignores SIGTERM is killed with what it started',
  async (t) => {
    const dir = t.testdir();
    const { command, pids } = await stubbornProgram(dir);
    const daemon = await commandDaemon(t, dir, command, 1);

    const startedMs = Date.now();
    const answered = await commandGet(daemon);
    const tookMs = Date.now() - startedMs;
    const [child, grandchild] = await startedPids(pids);

    t.equal(answered.code, 1);
    t.match(answered.stderr, /credential command .* did not finish within 1000 ms/);
    t.ok(tookMs < 5000, `git heard within ${tookMs} ms, not never`);
    t.ok(await allGone([child!, grandchild!]), 'the program and its child are gone');
    t.ok(processExists(daemon.pid), 'the daemon serves on');
  },
);

t.test('what a finished program left running does not outlive the daemon', async (t) => {
  const dir = t.testdir();
  const pids = join(dir, 'pids');
  const script = join(dir, 'leaves-one.mjs');
  await writeFile(
    script,
    `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const left = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
left.unref();
writeFileSync(${JSON.stringify(pids)}, left.pid + '\\n');
console.log(JSON.stringify({ secret: 'tools_secret_' + Math.random().toString(36).slice(2), expiresAt: Math.floor(Date.now() / 1000) + 3600 }));`,
  );
  const daemon = await commandDaemon(t, dir, [process.execPath, script], 10);
  const answered = await commandGet(daemon);
  const [left] = await startedPids(pids);

  const stillThere = processExists(left!);
  const stop = await runHelper(['stop', '--socket', daemon.socketPath], '');

  t.match(answered.stdout, /^password=tools_secret_/m, answered.stderr);
  t.ok(stillThere, 'it ran on after the mint');
  t.equal(stop.code, 0, stop.stderr);
  t.ok(await allGone([left!]), 'and is gone with the daemon');
  t.match(killedRecords(daemon), [{ pid: /\d+/, msg: /left running/ }]);
  const secret = /password=(.*)/.exec(answered.stdout)?.[1] ?? '';
  assertNoSecrets(t, { daemon: daemon.output(), stop: stop.stderr }, [secret]);
});
