/**
 * `npm run fixture` as an evaluator uses it: started as a process of its
 * own, its printed commands pasted into another shell (real git clone
 * through the helper, status, token), then stopped with Ctrl-C (SIGINT to
 * its process group, as a terminal sends it) or SIGTERM (to it alone).
 * Nothing may be left: no process it started, no temporary directory, no
 * file in the user's home.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { withoutProxyVariables } from '../fixtures/connect-proxy.js';
import { LEDGER_DIR, recordOutput } from '../fixtures/leak-ledger.js';
import { REPO_ROOT } from '../fixtures/repo-root.js';
import { spawnTied } from '../fixtures/tied-spawn.js';

const SCRIPT = join(REPO_ROOT, 'dist', 'scripts', 'fixture.js');
const READY = /^Ctrl-C \(or SIGTERM\) here stops everything above and removes (\S+)$/m;

/** A process's start time (field 22 of /proc/PID/stat), so a reused pid is not mistaken for it. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Every process below `root` now, with its start time. */
function descendants(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const found = new Map<number, string>();
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const started = startTime(pid);
    if (started !== undefined) found.set(pid, started);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function runFixture(t: Test, extraEnv: NodeJS.ProcessEnv = {}) {
  // The user's home as the fixture and the pasted commands see it.
  const home = await mkdtemp(join(tmpdir(), 'gcb-fixture-home-'));
  const env: NodeJS.ProcessEnv = {
    ...withoutProxyVariables(process.env),
    HOME: home,
    ...extraEnv,
  };
  for (const name of Object.keys(env)) {
    if (name.startsWith('GIT_') || name.startsWith('XDG_')) delete env[name];
  }
  // Tied to the test: killed at its time limit, it takes the fixture (which
  // stops its daemon on SIGTERM) with it.
  const child = spawnTied(process.execPath, [SCRIPT], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    await rm(home, { recursive: true, force: true });
  });

  const deadline = Date.now() + 60_000;
  while (!READY.test(output) && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const dir = READY.exec(output)?.[1];
  if (dir === undefined) throw new Error(`the fixture did not come up:\n${output}`);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { child, home, env, dir, exited, output: () => output };
}

for (const [signal, toGroup] of [
  ['SIGINT', true],
  ['SIGTERM', false],
] as const) {
  t.test(
    `its printed commands clone through the helper, and ${signal} ${toGroup ? 'to its process group' : 'to it'} leaves nothing behind`,
    async (t) => {
      const fixture = await runFixture(t);
      const printed = fixture.output();
      const commands = printed
        .slice(printed.indexOf('In another shell:'), READY.exec(printed)!.index)
        .split('\n')
        .filter((line) => line.startsWith('  '))
        .join('\n');
      const daemonPid = Number(/^broker daemon: pid (\d+), socket (\S+)$/m.exec(printed)![1]);
      const socketDir = join(
        /^broker daemon: pid \d+, socket (\S+)$/m.exec(printed)![1]!,
        '..',
        '..',
      );
      const port = Number(/^local GitHub: http:\/\/127\.0\.0\.1:(\d+) /m.exec(printed)![1]);

      const shell = spawnSync('bash', ['-e', '-c', commands], {
        env: fixture.env,
        cwd: fixture.home,
        encoding: 'utf8',
        timeout: 60_000,
      });

      // The token is a secret: matched without it, so no failure prints it.
      const shown = shell.stdout.replace(/^ghs_\S+$/gm, '<token>');
      t.equal(shell.status, 0, 'the pasted commands succeed', { stderr: shell.stderr });
      t.match(shell.stderr, /Cloning into '.*\/work\/widgets'/);
      t.ok(existsSync(join(fixture.dir, 'work', 'widgets', 'README.md')), 'cloned');
      t.match(shown, /^daemon: +running, /m, 'status says the daemon runs');
      t.match(shown, /acme\/widgets \[contents:write\] via local-github/, 'and lists the token');
      t.match(shown, /^<token>$/m, 'token printed a token');
      t.ok(startTime(daemonPid), 'the daemon it named runs');

      const started = descendants(fixture.child.pid!);
      t.ok(started.has(daemonPid), 'the daemon is its child');
      process.kill(toGroup ? -fixture.child.pid! : fixture.child.pid!, signal);
      const code = await fixture.exited;
      recordOutput(`npm run fixture output (${signal})`, fixture.output());

      t.equal(code, 0, 'it exits 0', { output: fixture.output() });
      t.match(fixture.output(), `${signal}: stopping the daemon and the local GitHub`);
      t.match(fixture.output(), `removed ${fixture.dir}`);
      const left = [...started].filter(([pid, at]) => startTime(pid) === at);
      t.same(left, [], 'no process it started runs');
      t.notOk(existsSync(fixture.dir), 'its directory is gone');
      t.notOk(existsSync(socketDir), "the daemon's socket directory is gone");
      t.notOk(await portAccepts(port), 'the local GitHub no longer listens');
      t.same(readdirSync(fixture.home), [], 'nothing was written to the home');
    },
  );
}

t.test(
  'a closed terminal (SIGHUP to its group, its reader gone) leaves nothing behind either, nor its secrets in the checkout',
  async (t) => {
    // As a user runs it: outside tap, so the leak ledger must stay shut.
    const fixture = await runFixture(t, { TAP: '' });
    const printed = fixture.output();
    const daemonPid = Number(/^broker daemon: pid (\d+), /m.exec(printed)![1]);
    const started = descendants(fixture.child.pid!);
    t.ok(started.has(daemonPid), 'the daemon is its child');

    // `npm run fixture | head -1`: writing the stop message then fails with EPIPE.
    fixture.child.stdout!.destroy();
    process.kill(-fixture.child.pid!, 'SIGHUP');
    const code = await fixture.exited;
    recordOutput('npm run fixture output (SIGHUP)', fixture.output());

    t.equal(code, 0, 'it exits 0, not on an EPIPE', { output: fixture.output() });
    t.notMatch(fixture.output(), /EPIPE|Error:/, 'no stack trace');
    const left = [...started].filter(([pid, at]) => startTime(pid) === at);
    t.same(left, [], 'no process it started runs: the daemon took SIGHUP as reload before');
    t.notOk(existsSync(fixture.dir), 'its directory is gone');
    const ledger = existsSync(LEDGER_DIR) ? readdirSync(LEDGER_DIR) : [];
    const own = ledger.filter((name) => name.includes(`-${fixture.child.pid}`));
    t.same(own, [], 'it wrote no key lines or outputs into the checkout');
  },
);

t.test('--help prints the usage and starts nothing; an unknown argument is refused', async (t) => {
  const help = spawnSync(process.execPath, [SCRIPT, '--help'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  const bogus = spawnSync(process.execPath, [SCRIPT, '--bogus'], {
    encoding: 'utf8',
    timeout: 10_000,
  });

  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /^usage: npm run fixture/);
  t.notMatch(help.stdout, READY, 'no world was started');
  t.equal(bogus.status, 2);
  t.match(bogus.stderr, /^fixture: unknown argument '--bogus'\nusage: /);
});
