/**
 * `npm run fixture`: what `npm run demo` starts (a throwaway GitHub App, the
 * local GitHub-compatible server with a few repositories, the broker daemon
 * and a git config that points at it, all in one temporary directory), kept
 * up for trying the broker by hand from another shell. Ctrl-C or SIGTERM
 * stops every process it started and removes the directory.
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBrokerWorld, OWNER, type BrokerWorld } from '../test/fixtures/broker-world.js';
import { HELPER_BIN } from '../test/fixtures/repo-root.js';

const INSTALLED = ['widgets', 'gadgets'];
const NOT_INSTALLED = ['secret-plans'];

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The line after the instructions, once everything is up. */
const READY_LINE = 'Ctrl-C (or SIGTERM) here stops everything above and removes';

function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * What to paste into another shell. Only variables of that shell change:
 * git reads the world's global config instead of the user's (and no system
 * config), and the broker's commands find this daemon and its config.
 */
function instructions(world: BrokerWorld, binDir: string): string {
  const env = (name: string): string => `${name}=${quote(world.env[name] ?? '')}`;
  const clone = `git clone ${world.cloneUrl('widgets')} ${quote(join(world.dir, 'work', 'widgets'))}`;
  return [
    `export ${env('GIT_CONFIG_GLOBAL')} ${env('GIT_CONFIG_NOSYSTEM')} ${env('GIT_TERMINAL_PROMPT')}`,
    `export GIT_CREDENTIAL_BROKER_SOCKET=${quote(world.daemon.socketPath)}`,
    `export GIT_CREDENTIAL_BROKER_CONFIG=${quote(world.daemon.configPath)}`,
    `export PATH=${quote(binDir)}:"$PATH"`,
    // The local GitHub is on loopback: a proxy in the environment must not carry git there.
    'export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"',
    clone,
    'git-credential-broker status',
    `git-credential-broker token ${OWNER}/widgets`,
  ]
    .map((line) => `  ${line}\n`)
    .join('');
}

function describe(world: BrokerWorld): string {
  const repos = (names: string[]): string => names.map((name) => `${OWNER}/${name}`).join(', ');
  return (
    `GitHub App ${world.app.appId} (key generated just now), installed on ${repos(INSTALLED)}; ` +
    `${repos(NOT_INSTALLED)} exists, but the App is not installed there\n` +
    `local GitHub: ${world.github.gitBaseUrl} (API ${world.github.apiUrl})\n` +
    `broker daemon: pid ${world.daemon.pid}, socket ${world.daemon.socketPath}\n` +
    `  config ${world.daemon.configPath}\n` +
    `  audit log ${world.daemon.auditLogPath}\n`
  );
}

/**
 * Resolves with the first SIGINT, SIGTERM or SIGHUP (a closed terminal: the
 * daemon in the same process group takes its SIGHUP as "reload" and would
 * live on, found in review); later ones only say that cleanup runs.
 */
function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received !== undefined) {
        process.stderr.write(`fixture: ${signal} again; still cleaning up, wait a moment\n`);
        return;
      }
      received = signal;
      resolve(signal);
    };
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  });
}

/**
 * Writes to stdout, or nowhere once its reader is gone (`| head -1`): an
 * EPIPE must not end the process before the cleanup (found in review).
 */
let stdoutOpen = true;
process.stdout.on('error', () => (stdoutOpen = false));
function say(text: string): void {
  if (stdoutOpen) process.stdout.write(text);
}

const USAGE = `usage: npm run fixture (node dist/scripts/fixture.js)

Starts a throwaway GitHub App, a local GitHub-compatible server with a few
repositories and a broker daemon in one temporary directory, prints the
lines to paste into another shell, and keeps them up until Ctrl-C, SIGTERM
or SIGHUP, which stops them all and removes the directory. Takes no options.
`;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    say(USAGE);
    return 0;
  }
  if (args.length > 0) {
    process.stderr.write(`fixture: unknown argument '${args[0]}'\n${USAGE}`);
    return 2;
  }
  // Listening before anything starts: a Ctrl-C during startup cleans up too.
  let signalled = false;
  const stopped = untilStopped().then((signal) => {
    signalled = true;
    return signal;
  });
  const dir = await mkdtemp(join(tmpdir(), 'git-credential-broker-fixture-'));
  let world: BrokerWorld | undefined;
  try {
    world = await createBrokerWorld(dir, { installed: INSTALLED, notInstalled: NOT_INSTALLED });
    // `git-credential-broker` by name in the other shell, without npm link.
    const binDir = join(dir, 'bin');
    await mkdir(binDir);
    await symlink(HELPER_BIN, join(binDir, 'git-credential-broker'));

    // A signal during startup stops the world: no instructions for it.
    if (!signalled) {
      say(
        `${describe(world)}\nIn another shell:\n\n${instructions(world, binDir)}\n` +
          `${READY_LINE} ${dir}\n` +
          `(after a kill -9 of this process instead: git-credential-broker --socket ` +
          `${quote(world.daemon.socketPath)} stop; rm -rf ${quote(dir)})\n`,
      );
    }
    let stopping = false;
    void world.daemon.exited.then((code) => {
      if (!stopping) {
        process.stderr.write(
          `fixture: the broker daemon exited (code ${code}); Ctrl-C to clean up the rest\n`,
        );
      }
    });
    const signal = await stopped;
    stopping = true;
    say(`\n${signal}: stopping the daemon and the local GitHub\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`fixture failed: ${(error as Error).message}\n`);
    if (world) process.stderr.write(`daemon output:\n${world.daemon.output()}\n`);
    return 1;
  } finally {
    await world?.stop();
    await rm(dir, { recursive: true, force: true });
    say(`removed ${dir}\n`);
  }
}

process.exitCode = await main();
