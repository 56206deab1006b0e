/**
 * Many processes claiming one socket path at the same moment, as parallel
 * git processes with autostart start daemons: each is a real Node process
 * running the built socket-file.ts, released together once all are ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { REPO_ROOT } from '../fixtures/repo-root.js';

const SOCKET_FILE = pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', 'socket-file.js')).href;

/**
 * Says "ready", claims the socket path when its stdin says go, reports the
 * outcome, and if it won, listens there and holds on until its stdin ends,
 * then exits without letting go: a killed daemon's lock and socket stay.
 */
const RACER = `
  import { createServer } from 'node:net';
  const { claimSocketPath } = await import(${JSON.stringify(SOCKET_FILE)});
  const socketPath = process.argv[1];
  process.stdout.write('ready\\n');
  process.stdin.once('data', async () => {
    try {
      await claimSocketPath(socketPath);
      createServer().listen(socketPath, () => process.stdout.write('won\\n'));
    } catch (error) {
      process.stdout.write(JSON.stringify(error.message) + '\\n');
      process.exit(0);
    }
  });
  process.stdin.once('end', () => process.exit(0));
`;

interface Racer {
  child: ChildProcess;
  ready: Promise<void>;
  outcome: Promise<string>;
  exited: Promise<void>;
}

function startRacer(socketPath: string): Racer {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RACER, socketPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => (await lines.next()).value ?? 'no outcome';
  const ready = next().then(() => undefined);
  return {
    child,
    ready,
    outcome: ready.then(next),
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
}

/** Starts `count` racers, lets them all claim at once, and reports who won. */
async function race(
  t: Test,
  socketPath: string,
  count: number,
): Promise<{ winner: Racer; outcomes: string[]; racers: Racer[] }> {
  const racers = Array.from({ length: count }, () => startRacer(socketPath));
  t.teardown(() => racers.forEach(({ child }) => child.kill('SIGKILL')));
  await Promise.all(racers.map((racer) => racer.ready));

  for (const { child } of racers) child.stdin!.write('go\n');
  const outcomes = await Promise.all(racers.map((racer) => racer.outcome));

  const winners = racers.filter((_, i) => outcomes[i] === 'won');
  if (winners.length !== 1) {
    throw new Error(`${winners.length} racers claimed the socket: ${outcomes.join(', ')}`);
  }
  return { winner: winners[0]!, outcomes, racers };
}

function lockOwners(socketPath: string): string[] {
  return readdirSync(`${socketPath}.lock`).map(
    (entry) => /^owner-(\d+)-[0-9a-f]{16}$/.exec(entry)?.[1] ?? `unexpected entry ${entry}`,
  );
}

const ROUNDS = 4;
const RACERS = 6;

t.test(
  'processes claiming one socket at once: exactly one wins, and none removes the live lock',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gcb-race-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'daemon.sock');

    // Round 0 starts from nothing; every later round from the lock and
    // socket the last winner left when it exited, and some from a lock
    // file of an older release whose daemon died.
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 3 === 2) {
        rmSync(`${socketPath}.lock`, { recursive: true, force: true });
        writeFileSync(`${socketPath}.lock`, '999999999');
      }

      const { winner, outcomes, racers } = await race(t, socketPath, RACERS);
      const owners = lockOwners(socketPath);
      const beside = readdirSync(dir).sort();
      for (const { child } of racers) child.stdin!.end();
      await Promise.all(racers.map((racer) => racer.exited));

      const pid = winner.child.pid!;
      t.same(owners, [String(pid)], `round ${round}: the lock names the winner, while it runs`);
      t.same(beside, ['daemon.sock', 'daemon.sock.lock'], `round ${round}: nothing else is left`);
      const refusals = outcomes.filter((outcome) => outcome !== 'won');
      t.same(
        refusals.filter((refusal) => !refusal.includes(`another broker daemon (pid ${pid}) holds`)),
        [],
        `round ${round}: every other racer was told who holds the socket`,
      );
    }
  },
);

t.test('processes racing for a lock left by a killed daemon: one takes it over', async (t) => {
  // The lock of a daemon of this release that was killed: its entry names
  // a process that is gone. Every racer judges it stale at about the same
  // time; only one may free it, and none may free the winner's lock.
  const dir = mkdtempSync(join(tmpdir(), 'gcb-race-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, 'daemon.sock');

  for (let round = 0; round < ROUNDS; round++) {
    rmSync(`${socketPath}.lock`, { recursive: true, force: true });
    mkdirSync(`${socketPath}.lock`);
    writeFileSync(join(`${socketPath}.lock`, `owner-999999999-${'0'.repeat(15)}${round}`), '');

    const { winner, racers } = await race(t, socketPath, RACERS);
    const owners = lockOwners(socketPath);
    for (const { child } of racers) child.stdin!.end();
    await Promise.all(racers.map((racer) => racer.exited));

    t.same(owners, [String(winner.child.pid)], `round ${round}: the winner's lock stands`);
  }
});
