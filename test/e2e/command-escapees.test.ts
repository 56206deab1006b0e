/**
 * What a `command` provider's program starts outside its own process group
 * holds neither its request nor outlives the daemon, where it can be traced
 * for sure: a real daemon process, real shell programs, the built helper.
 * The programs are the inputs of a review that found a `setsid` grandchild
 * holding the program's output held the request past its timeout and
 * outlived the daemon, unlogged.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { processExists } from '../../helper/process-exists.js';
import { commandDaemon, commandGet } from '../fixtures/command-daemon.js';
import type { DaemonProcess } from '../fixtures/daemon-process.js';
import { runHelper } from '../fixtures/run-helper.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';

t.jobs = 2;

/** A shell program that writes `$!` (what it started) to `pids`, then runs `tail`. */
async function shellProgram(dir: string, start: string, tail: string): Promise<string[]> {
  const script = join(dir, 'program.sh');
  await writeFile(script, `${start}\necho "$!" > '${join(dir, 'pids')}'\n${tail}\n`);
  return ['/bin/bash', script];
}

const PRINT_CREDENTIAL = `echo "{\\"secret\\":\\"tools_secret_$RANDOM$RANDOM\\",\\"expiresAt\\":$(( $(date +%s) + 3600 ))}"`;

async function startedPid(t: Test, dir: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const text = await readFile(join(dir, 'pids'), 'utf8').catch(() => '');
    if (text.endsWith('\n')) {
      const pid = Number(text.trim());
      // Should an assertion fail, the test's own process is not left behind.
      t.teardown(() => {
        if (processExists(pid)) process.kill(pid, 'SIGKILL');
      });
      return pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the program did not start');
}

async function gone(pid: number, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && processExists(pid)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !processExists(pid);
}

function escapeeRecords(daemon: DaemonProcess): Record<string, unknown>[] {
  return daemon
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => /had left its process group/.test(String(record.msg)));
}

t.test(
  'a program answers at once though a setsid grandchild holds its output, and the daemon kills that at stop',
  async (t) => {
    const dir = t.testdir();
    const command = await shellProgram(dir, 'setsid sleep 300 &', `${PRINT_CREDENTIAL}\nexit 0`);
    const daemon = await commandDaemon(t, dir, command, 10);

    const startedMs = Date.now();
    const answered = await commandGet(daemon);
    const tookMs = Date.now() - startedMs;
    const holder = await startedPid(t, dir);
    const heldOn = processExists(holder);
    const stop = await runHelper(['stop', '--socket', daemon.socketPath], '');

    t.equal(answered.code, 0, answered.stderr);
    t.match(answered.stdout, /^password=tools_secret_/m);
    t.ok(tookMs < 8000, `answered in ${tookMs} ms, not after the grandchild or the timeout`);
    t.ok(heldOn, 'the grandchild ran on after the answer');
    t.equal(stop.code, 0, stop.stderr);
    t.ok(await gone(holder), 'it does not outlive the daemon');
    t.match(escapeeRecords(daemon), [
      { level: 40, found: "holding the program's output", integration: 'tools', signal: 'SIGKILL' },
    ]);
    const secret = /password=(.*)/.exec(answered.stdout)?.[1] ?? '';
    assertNoSecrets(t, { daemon: daemon.output(), stop: stop.stderr }, [secret]);
  },
);

t.test(
  'a program past its timeout is answered on time though a setsid grandchild holds its output, which is killed too',
  async (t) => {
    const dir = t.testdir();
    const command = await shellProgram(dir, 'setsid sleep 300 &', 'sleep 300');
    const daemon = await commandDaemon(t, dir, command, 1);

    const startedMs = Date.now();
    const answered = await commandGet(daemon);
    const tookMs = Date.now() - startedMs;
    const holder = await startedPid(t, dir);

    t.equal(answered.code, 1);
    t.match(answered.stderr, /did not finish within 1000 ms/);
    t.ok(tookMs < 8000, `answered in ${tookMs} ms, not when the grandchild ends`);
    t.ok(await gone(holder), 'the grandchild that held the output is killed with the program');
    t.ok(processExists(daemon.pid), 'the daemon serves on');
  },
);

t.test(
  'a child that left the group but not the session of a finished program is killed at stop',
  async (t) => {
    const dir = t.testdir();
    // Job control gives a background job a group of its own, in the same session.
    const command = await shellProgram(
      dir,
      'set -m\nsleep 300 >/dev/null 2>&1 </dev/null &',
      PRINT_CREDENTIAL,
    );
    const daemon = await commandDaemon(t, dir, command, 10);

    const answered = await commandGet(daemon);
    const child = await startedPid(t, dir);
    const stop = await runHelper(['stop', '--socket', daemon.socketPath], '');

    t.equal(answered.code, 0, answered.stderr);
    t.equal(stop.code, 0, stop.stderr);
    t.ok(await gone(child), 'it does not outlive the daemon');
    t.match(escapeeRecords(daemon), [
      { pid: child, found: "in the program's session", signal: 'SIGKILL' },
    ]);
  },
);
