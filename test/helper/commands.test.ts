/**
 * The helper's commands, run as a user would: the built binary against a
 * real daemon, the GitHub-compatible server and real git.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { COMMAND_NAMES } from '../../helper/cli.js';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';
import { recordSecrets } from '../fixtures/leak-ledger.js';
import { assertNoSecrets, privateKeyFragments } from '../fixtures/leak-scan.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { runHelper } from '../fixtures/run-helper.js';
import { VERSION } from '../../shared/version.js';

async function world(t: Test): Promise<BrokerWorld> {
  const w = await createBrokerWorld(t.testdir());
  t.teardown(() => w.stop());
  return w;
}

function cli(w: BrokerWorld, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runHelper([...args, '--socket', w.daemon.socketPath], '', { ...w.env, ...env });
}

function secretsOf(w: BrokerWorld): string[] {
  return [...w.github.issuedTokens(), ...privateKeyFragments(w.app.privateKeyPem)];
}

t.test('token prints the raw token, and --json the envelope, served from one mint', async (t) => {
  const w = await world(t);
  const url = w.cloneUrl('widgets');

  const raw = await cli(w, ['token', url]);
  const json = await cli(w, ['token', url, '--json']);
  const envelope = JSON.parse(json.stdout) as Record<string, unknown>;

  t.equal(raw.code, 0, raw.stderr);
  t.equal(raw.stdout, `${w.github.issuedTokens()[0]}\n`);
  t.match(envelope, {
    token: w.github.issuedTokens()[0],
    username: 'x-access-token',
    expiresAt: /^\d{4}-/,
    repositories: ['acme/widgets'],
    permissions: { contents: 'write' },
    cached: true,
  });
  t.equal(w.github.mintCount, 1);
});

t.test(
  'token --host takes a URL, and the request and its audit line keep its scheme',
  async (t) => {
    const w = await world(t);
    // The fixture serves git over plain http on loopback.
    const byUrl = await cli(w, ['token', 'acme/widgets', '--host', w.github.gitBaseUrl]);
    const byHost = await cli(w, ['token', 'acme/widgets', '--host', w.github.host]);
    const plain = await cli(w, ['token', 'acme/widgets', '--host', 'http://ghe.example.com']);

    const targets = (await w.daemon.auditRecords()).map((record) => record['target']);

    t.equal(byUrl.code, 0, byUrl.stderr);
    // Compared with ok(), not equal(): a failure would print the token.
    t.ok(byUrl.stdout === `${w.github.issuedTokens()[0]}\n`, 'the raw token');
    t.equal(byHost.code, 0, byHost.stderr);
    t.same(targets, [
      `http://${w.github.host}/acme/widgets`,
      `https://${w.github.host}/acme/widgets`,
    ]);
    t.equal(plain.code, 2);
    t.match(plain.stderr, /plain http to a host that is not this machine/);
  },
);

t.test(
  'token --permission asks for less, and refuses more than the integration grants',
  async (t) => {
    const w = await world(t);

    const narrow = await cli(w, ['token', w.cloneUrl('widgets'), '--permission', 'contents=read']);
    const wide = await cli(w, [
      'token',
      w.cloneUrl('widgets'),
      '--permission',
      'administration=write',
    ]);
    const malformed = await cli(w, ['token', w.cloneUrl('widgets'), '--permission', 'contents']);

    t.equal(narrow.code, 0, narrow.stderr);
    t.same(w.github.mints[0]!.permissions, { contents: 'read' });
    t.not(wide.code, 0);
    t.match(wide.stderr, /permission 'administration: write' is beyond/);
    t.match(malformed.stderr, /--permission 'contents' is not name=level/);
    t.equal(w.github.mintCount, 1);
  },
);

t.test('status shows integrations, cached repositories and counters, never a token', async (t) => {
  const w = await world(t);
  await cli(w, ['token', w.cloneUrl('widgets')]);
  await cli(w, ['token', w.cloneUrl('widgets')]);

  const text = await cli(w, ['status']);
  const json = await cli(w, ['status', '--json']);
  const status = JSON.parse(json.stdout) as Record<string, unknown>;

  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /daemon: +running, version \d+\.\d+\.\d+/);
  t.match(
    text.stdout,
    new RegExp(`local-github \\(github-app\\) for ${w.github.host.replace('.', '\\.')}`),
  );
  t.match(text.stdout, /acme\/widgets \[contents:write\] via local-github: served for \d+m/);
  t.match(text.stdout, /1 hits, 1 misses, 1 mints, 0 denied, 0 errors/);
  t.match(
    text.stdout,
    /listeners:\n {2}.*daemon\.sock: any repository; at most the integration's permissions/,
  );
  t.notMatch(text.stdout, /FAILING/);
  t.match(status, {
    auditLogFailing: false,
    counters: { hits: 1, misses: 1, mints: 1, denied: 0, errors: 0 },
    cache: [{ repository: 'acme/widgets' }],
  });
  assertNoSecrets(t, { status: text.stdout, statusJson: json.stdout }, secretsOf(w));
});

t.test('status with no daemon says so in one line; stop then has nothing to do', async (t) => {
  const w = await world(t);
  await w.daemon.stop();

  const status = await cli(w, ['status']);
  const stop = await cli(w, ['stop']);
  const again = await cli(w, ['stop']);

  t.equal(status.code, 1);
  t.match(
    status.stderr,
    /^git-credential-broker: no broker daemon is listening at '.*'; start it with/,
  );
  t.equal(status.stderr.trim().split('\n').length, 1);
  // A defensive stop script must not fail because the daemon was down.
  t.equal(stop.code, 0, stop.stderr);
  t.equal(stop.stdout, `no broker daemon was running on '${w.daemon.socketPath}'\n`);
  t.equal(again.code, 0, again.stderr);
});

t.test('status --json prints a JSON object on stdout whether or not a daemon runs', async (t) => {
  const w = await world(t);

  const up = await cli(w, ['status', '--json']);
  // Found in review: a repeated option reached the code as an array (a
  // TypeError, exit 1). The last value counts.
  const twice = await runHelper(
    ['status', '--json', '--socket', '/nowhere/d.sock', '--socket', w.daemon.socketPath],
    '',
    w.env,
  );
  await w.daemon.stop();
  const down = await cli(w, ['status', '--json']);
  const malformed = await runHelper(['status', '--json', '--socket='], '', w.env);

  t.equal(up.code, 0, up.stderr);
  t.match(JSON.parse(up.stdout), { running: true, socket: w.daemon.socketPath, pid: Number });
  t.equal(twice.code, 0, twice.stderr);
  t.match(JSON.parse(twice.stdout), { running: true, socket: w.daemon.socketPath });
  t.equal(down.code, 1);
  t.same(JSON.parse(down.stdout), {
    running: false,
    socket: w.daemon.socketPath,
    error: down.stderr.replace(/^git-credential-broker: /, '').trimEnd(),
    code: 'DAEMON_UNREACHABLE',
  });
  t.match(down.stderr, /no broker daemon is listening at/);
  t.equal(malformed.code, 2);
  t.match(JSON.parse(malformed.stdout), {
    running: false,
    error: /--socket was given an empty path/,
    code: 'BAD_REQUEST',
  });
});

t.test('status --json says running: true whatever the status itself holds', async (t) => {
  // Found in review: a status holding "running": false overrode it.
  const dir = await mkdtemp(join(tmpdir(), 'gcb-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const socketPath = join(dir, 'fake.sock');
  const fake = createServer((socket) =>
    socket.once('data', () =>
      socket.end('{"v":1,"ok":true,"status":{"running":false,"pid":4242}}\n'),
    ),
  );
  await new Promise<void>((resolve) => fake.listen(socketPath, resolve));
  t.teardown(() => new Promise<void>((resolve) => fake.close(() => resolve())));
  const status = await runHelper(['status', '--json', '--socket', socketPath], '', process.env);
  t.equal(status.code, 0, status.stderr);
  t.same(JSON.parse(status.stdout), { running: true, pid: 4242 });
});

t.test('stop returns once the daemon has exited, so a new one can start at once', async (t) => {
  // Found in review: stop said "stopped" once the socket went quiet, while
  // the daemon still answered a request in flight; daemon --detach then
  // found the socket locked.
  const w = await world(t);
  w.github.injectFault({
    method: 'POST',
    path: /\/app\/installations\/\d+\/access_tokens$/,
    status: 0,
    delayMs: 1500,
  });
  let exited = false;
  void w.daemon.exited.then(() => (exited = true));
  const inFlight = w.git(['ls-remote', w.cloneUrl('widgets')]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stop = await cli(w, ['stop']);
  const exitedWhenStopReturned = exited;
  await inFlight;

  t.equal(stop.code, 0, stop.stderr);
  t.ok(exitedWhenStopReturned, 'the daemon had exited when stop returned');
});

t.test('stop ends the daemon gracefully', async (t) => {
  const w = await world(t);

  const stop = await cli(w, ['stop']);
  const exitCode = await w.daemon.exited;

  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, /stopped/);
  t.equal(exitCode, 0, `the daemon exited cleanly (${String(exitCode)})`);
  t.match(w.daemon.output(), /daemon stopped/);
});

t.test(
  'configure writes the helper chain reset, the helper and useHttpPath, idempotently',
  async (t) => {
    const w = await world(t);
    const host = w.github.gitBaseUrl;
    const get = async (key: string) =>
      (await w.git(['config', '--global', '--get-all', key])).stdout;

    const first = await cli(w, ['configure', '--host', host]);
    const afterFirst = await get(`credential.${host}.helper`);
    await cli(w, ['configure', '--host', host]);
    const afterSecond = await get(`credential.${host}.helper`);
    const useHttpPath = await get(`credential.${host}.useHttpPath`);
    const clone = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'c')]);
    const unset = await cli(w, ['configure', '--host', host, '--unset']);
    const afterUnset = await get(`credential.${host}.helper`);

    t.equal(first.code, 0, first.stderr);
    t.equal(
      afterFirst,
      `\n${HELPER_BIN} --socket ${w.daemon.socketPath}\n`,
      'an empty entry, then the broker',
    );
    t.equal(afterSecond, afterFirst, 'running it again changes nothing');
    t.equal(useHttpPath, 'true\n');
    t.equal(clone.code, 0, `git clones with what configure wrote: ${clone.stderr}`);
    t.equal(unset.code, 0);
    t.match(unset.stdout, /removed the broker's .*helper entries and .*useHttpPath/);
    t.equal(afterUnset, '', 'unset removes the helper entries');
    t.equal(await get(`credential.${host}.useHttpPath`), '', 'and useHttpPath');
  },
);

t.test('an unknown command or option names itself and points at --help', async (t) => {
  const w = await world(t);

  const unknown = await cli(w, ['frobnicate']);
  const help = await runHelper(['token', '--help'], '', w.env);

  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /frobnicate.*see 'git-credential-broker --help'/);
  t.match(help.stdout, /Examples:/);
  t.match(help.stdout, /--permission contents=read/);

  // Every command's help has examples (a new user found get's had none).
  const helps = await Promise.all(
    COMMAND_NAMES.map((command) => runHelper([command, '--help'], '', w.env)),
  );
  const missing = COMMAND_NAMES.filter(
    (_, i) => helps[i]!.code !== 0 || !/Examples:\n {2}\S/.test(helps[i]!.stdout),
  );
  t.same(missing, [], 'every command shows examples');
});

t.test('a command-line mistake points at the help that explains it, once', async (t) => {
  const nothing = await runHelper([], '');
  const token = await runHelper(['token'], '');
  const help = await Promise.all(
    ['get', 'store', 'erase'].map((action) => runHelper([action, '--help'], '')),
  );

  t.equal(nothing.code, 2);
  t.equal(
    nothing.stderr,
    "git-credential-broker: name a command; see 'git-credential-broker --help'\n",
  );
  t.equal(token.code, 2);
  t.match(
    token.stderr,
    /Not enough non-option arguments.*; see 'git-credential-broker token --help'$/m,
  );
  t.same(
    help.map((result) => result.stdout.split('\n')[0]),
    ['git-credential-broker get', 'git-credential-broker store', 'git-credential-broker erase'],
    "each action's help names that action",
  );
});

t.test('every --help fits 80 columns, each example command whole on its own line', async (t) => {
  const commands = ['', ...COMMAND_NAMES];
  const helps = await Promise.all(
    commands.map((command) => runHelper(command === '' ? ['--help'] : [command, '--help'], '')),
  );
  for (const [i, command] of commands.entries()) {
    const help = helps[i]!;
    const lines = help.stdout.trimEnd().split('\n');
    const examples = lines.slice(lines.indexOf('Examples:') + 1);

    t.equal(help.code, 0, `${command} --help: ${help.stderr}`);
    t.same(
      lines.filter((line) => line.length > 80),
      [],
      `${command} --help: no line wider than 80 columns`,
    );
    if (command === '') continue;
    // Pairs: the command as one types it, then what it does, indented.
    const broken = examples.filter((line, i) =>
      i % 2 === 0 ? !/^ {2}(git-credential-broker|git) \S/.test(line) : !/^ {6}\S/.test(line),
    );
    t.ok(examples.length >= 2 && examples.length % 2 === 0, `${command}: examples come in pairs`);
    t.same(broken, [], `${command} --help: no example wraps`);
  }
});

t.test('with autostart on, many git processes at once start exactly one daemon', async (t) => {
  const w = await world(t);
  await w.daemon.stop();
  const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as Record<string, unknown>;
  await writeFile(w.daemon.configPath, JSON.stringify({ ...config, autostart: true }));
  const env = {
    GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath,
    XDG_STATE_HOME: join(w.dir, 'state'),
  };
  const input = `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n\n`;
  t.teardown(() => cli(w, ['stop'], env));

  const results = await Promise.all(
    Array.from({ length: 8 }, () =>
      runHelper(['--socket', w.daemon.socketPath, 'get'], input, { ...w.env, ...env }),
    ),
  );
  const status = await cli(w, ['status', '--json'], env);
  const log = await readFile(join(w.dir, 'state', 'git-credential-broker', 'daemon.log'), 'utf8');

  t.same(
    results.map((r) => r.code),
    Array(8).fill(0),
    results.map((r) => r.stderr).join(''),
  );
  t.ok(
    results.every((r) => r.stdout.includes(`password=${w.github.issuedTokens()[0]}`)),
    'all got the token',
  );
  t.equal(w.github.mintCount, 1, 'one mint');
  t.equal(status.code, 0, 'a daemon answers');
  t.equal(log.match(/"daemon listening"/g)?.length, 1, 'exactly one daemon started listening');
});

t.test(
  'with autostart on and a config the daemon cannot start with, get tells git to stop',
  async (t) => {
    const w = await world(t);
    await w.daemon.stop();
    const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as {
      integrations: Record<string, unknown>[];
    };
    const missingKey = join(w.dir, 'no-such-key.pem');
    config.integrations[0]!['privateKeyPath'] = missingKey;
    await writeFile(w.daemon.configPath, JSON.stringify({ ...config, autostart: true }));
    const env = {
      GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath,
      XDG_STATE_HOME: join(w.dir, 'state'),
    };
    const input = `protocol=http\nhost=${w.github.host}\npath=acme/widgets.git\n\n`;

    const get = await runHelper(['--socket', w.daemon.socketPath, 'get'], input, {
      ...w.env,
      ...env,
    });

    t.equal(get.code, 1, get.stderr);
    t.equal(get.stdout, 'quit=1\n', 'git does not fall through to a prompt');
    t.match(get.stderr, /the broker daemon did not start on .*no-such-key\.pem/);
  },
);

t.test(
  'daemon --detach returns once the daemon answers, and run again leaves it running',
  async (t) => {
    const w = await world(t);
    await w.daemon.stop();
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const args = ['daemon', '--detach', '--config', w.daemon.configPath];
    t.teardown(() => cli(w, ['stop'], env));

    const first = await cli(w, args, env);
    const status = await cli(w, ['status', '--json'], env);
    const second = await cli(w, args, env);
    const pid = (JSON.parse(status.stdout) as { pid: number }).pid;

    t.equal(first.code, 0, first.stderr);
    t.match(first.stdout, /^daemon started \(pid \d+\) on .*; its log: .*daemon\.log$/m);
    t.equal(second.code, 0, second.stderr);
    t.equal(
      second.stdout,
      `a broker daemon (pid ${pid}, version ${VERSION}) is already running on '${w.daemon.socketPath}' with config '${w.daemon.configPath}'; nothing to start\n`,
    );
    const after = await cli(w, ['status', '--json'], env);
    t.equal((JSON.parse(after.stdout) as { pid: number }).pid, pid, 'the same daemon runs');
  },
);

t.test(
  'daemon --detach refuses a running daemon with another config, and a socket something else holds',
  async (t) => {
    const w = await world(t);
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const otherConfig = join(w.dir, 'other-config.json');
    await writeFile(otherConfig, await readFile(w.daemon.configPath));
    const dir = await mkdtemp(join(tmpdir(), 'gcb-held-'));
    chmodSync(dir, 0o700);
    const held = join(dir, 's.sock');
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.end('hello from something else\n');
    });
    await new Promise<void>((resolve) => server.listen(held, resolve));
    // Found in review: a fake answering status with the right config and
    // version was taken for a running daemon (exit 0, nothing started).
    const faked = join(dir, 'f.sock');
    const fake = createServer((socket) =>
      socket.once('data', () =>
        socket.end(
          `${JSON.stringify({ v: 1, ok: true, status: { pid: process.pid, version: VERSION, config: w.daemon.configPath } })}\n`,
        ),
      ),
    );
    await new Promise<void>((resolve) => fake.listen(faked, resolve));
    t.teardown(async () => {
      server.close();
      fake.close();
      await rm(dir, { recursive: true, force: true });
    });

    const otherConfigRun = await cli(w, ['daemon', '--detach', '--config', otherConfig], env);
    const heldRun = await runHelper(
      ['daemon', '--detach', '--config', w.daemon.configPath, '--socket', held],
      '',
      { ...w.env, ...env },
    );

    t.equal(otherConfigRun.code, 1);
    t.match(
      otherConfigRun.stderr,
      `already running on '${w.daemon.socketPath}' with config '${w.daemon.configPath}', not '${otherConfig}'; nothing was started`,
    );
    t.equal(heldRun.code, 1);
    t.match(
      heldRun.stderr,
      `'${held}' is held by something that does not answer as a broker daemon`,
    );
    t.equal(heldRun.stdout, '');
    const fakeRun = await runHelper(
      ['daemon', '--detach', '--config', w.daemon.configPath, '--socket', faked],
      '',
      { ...w.env, ...env },
    );
    t.equal(fakeRun.code, 1, fakeRun.stdout);
    t.match(fakeRun.stderr, /answers as a broker daemon, but .*not a broker daemon/);
  },
);

t.test(
  'the daemon command exits 1 for a config problem, 2 for a malformed command line',
  async (t) => {
    const w = await world(t);
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const dir = await mkdtemp(join(tmpdir(), 'gcb-exit-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const missing = join(dir, 'missing.json');
    const socket = join(dir, 'd.sock');

    const foreground = await runHelper(['daemon', '--config', missing, '--socket', socket], '', {
      ...w.env,
      ...env,
    });
    const detached = await runHelper(
      ['daemon', '--detach', '--config', missing, '--socket', socket],
      '',
      { ...w.env, ...env },
    );
    const malformed = await runHelper(['daemon', '--socket='], '', { ...w.env, ...env });

    t.equal(foreground.code, 1, foreground.stderr);
    t.match(foreground.stderr, /config file '.*missing\.json' does not exist/);
    t.equal(detached.code, 1, detached.stderr);
    t.match(detached.stderr, /config file '.*missing\.json' does not exist/);
    t.equal(malformed.code, 2, malformed.stderr);
  },
);

t.test('a storing helper configured before stays in the file but never sees a token', async (t) => {
  const w = await world(t);
  const host = w.github.gitBaseUrl;
  const key = `credential.${host}.helper`;
  const get = async () => (await w.git(['config', '--global', '--get-all', key])).stdout;
  const storeFile = join(w.dir, 'stored-credentials');
  await w.git(['config', '--global', '--unset-all', key]);
  await w.git(['config', '--global', '--add', key, `store --file=${storeFile}`]);

  const configure = await cli(w, ['configure', '--host', host]);
  const clone = await w.git(['clone', w.cloneUrl('widgets'), join(w.dir, 'c')]);

  t.equal(configure.code, 0, configure.stderr);
  t.match(configure.stdout, /entries \('store'\) stay in the file but are reset/);
  t.notMatch(configure.stdout, /--file=/, 'only the helper name, not its arguments');
  t.equal(clone.code, 0, clone.stderr);
  t.notOk(existsSync(storeFile), 'the storing helper stored nothing');

  const unset = await cli(w, ['configure', '--host', host, '--unset']);
  t.equal(unset.code, 0, unset.stderr);
  t.match(unset.stdout, /in effect again: 'store'/);
  t.equal(await get(), `store --file=${storeFile}\n`, "the user's helper is as it was");

  const again = await cli(w, ['configure', '--host', host, '--unset']);
  t.match(again.stdout, /^nothing to remove: no broker settings for /m);
});

t.test('configure refuses what it cannot do, with the fix', async (t) => {
  const w = await world(t);

  const withPath = await cli(w, ['configure', '--host', 'https://ghe.example.com/api/v3']);
  t.equal(withPath.code, 2);
  t.match(
    withPath.stderr,
    /has a path, query or fragment; --host takes a host name or a URL without them, for example --host https:\/\/ghe\.example\.com$/m,
  );

  // Plain http to another machine: the daemon would refuse every request.
  const plain = await cli(w, ['configure', '--host', 'http://ghe.example.com']);
  t.equal(plain.code, 2);
  t.match(
    plain.stderr,
    /'http:\/\/ghe\.example\.com' is plain http to a host that is not this machine.*use --host https:\/\/ghe\.example\.com/,
  );
  const after = await w.git(['config', '--global', '--get-regexp', 'ghe\\.example']);
  t.equal(after.stdout, '', 'nothing was written for it');

  // Outside any repository: a fresh directory, with discovery stopped above it.
  const bare = await mkdtemp(join(tmpdir(), 'gcb-norepo-'));
  t.teardown(() => rm(bare, { recursive: true, force: true }));
  const outside = spawnSync(process.execPath, [HELPER_BIN, 'configure', '--local'], {
    cwd: bare,
    encoding: 'utf8',
    env: { ...w.env, GIT_CEILING_DIRECTORIES: tmpdir() },
  });
  t.equal(outside.status, 1, outside.stderr);
  t.match(
    outside.stderr,
    /--local needs a git repository: run configure inside one, or use --global/,
  );
  t.notMatch(outside.stderr, /unset-all/, 'no git internals');
});

t.test('a --host with a password is refused before anything sees it', async (t) => {
  const w = await world(t);
  const password = 'hunter2-e2e-host-pw';
  recordSecrets([password]);
  const withPassword = w.github.gitBaseUrl.replace('://', `://user:${password}@`);

  const token = await cli(w, ['token', 'acme/widgets', '--host', withPassword]);
  const configure = await cli(w, ['configure', '--host', `https://user:${password}@example.com`]);
  const written = await w.git(['config', '--global', '--get-regexp', 'example']);

  t.equal(token.code, 2);
  t.equal(configure.code, 2);
  t.match(configure.stderr, /--host takes no user name or password/);
  t.equal(written.stdout, '', 'nothing was written to the git config');
  t.equal(w.github.mintCount, 0);
  assertNoSecrets(
    t,
    {
      'token output': token.stdout + token.stderr,
      'configure output': configure.stdout + configure.stderr,
      'daemon log': w.daemon.output(),
    },
    [password],
  );
});

t.test('daemon --detach shows what the new daemon warned about while starting', async (t) => {
  const w = await world(t);
  await w.daemon.stop();
  const env = { XDG_STATE_HOME: join(w.dir, 'state') };
  t.teardown(() => cli(w, ['stop'], env));
  chmodSync(w.app.privateKeyPath, 0o644);

  const started = await cli(w, ['daemon', '--detach', '--config', w.daemon.configPath], env);

  t.equal(started.code, 0, started.stderr);
  t.match(started.stdout, /^daemon started \(pid \d+\)/m);
  t.match(
    started.stdout,
    /^warning: private key '.*' is accessible to other users \(mode 644\); run: chmod 600 '.*'$/m,
  );
});
