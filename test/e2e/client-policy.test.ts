/**
 * Per-client policy end to end: one daemon, two sockets with different
 * allow-lists, the real helper as git runs it, and the GitHub-compatible
 * server counting every call.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import t, { type Test } from 'tap';
import { createBrokerWorld, type BrokerWorld } from '../fixtures/broker-world.js';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { assertNoSecrets, privateKeyFragments } from '../fixtures/leak-scan.js';
import { runHelper } from '../fixtures/run-helper.js';

interface PolicyWorld {
  w: BrokerWorld;
  socketA: string;
  socketB: string;
}

async function policyWorld(t: Test): Promise<PolicyWorld> {
  // Test directories are too deep for a Unix socket path (~104 bytes).
  const sockets = await mkdtemp(join(tmpdir(), 'gcb-policy-'));
  t.teardown(() => rm(sockets, { recursive: true, force: true }));
  const socketA = join(sockets, 'a', 'daemon.sock');
  const socketB = join(sockets, 'b', 'daemon.sock');
  const w = await createBrokerWorld(t.testdir(), {
    installed: ['widgets', 'gadgets'],
    config: {
      listeners: [
        { socket: socketA, allow: ['acme/widgets'], permissions: { contents: 'read' } },
        { socket: socketB, allow: ['acme/gadgets'] },
      ],
    },
  });
  t.teardown(() => w.stop());
  return { w, socketA, socketB };
}

async function runtimeDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-run-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A policy world whose daemon is stopped and whose config turns autostart on. */
async function autostartWorld(t: Test): Promise<PolicyWorld> {
  const world = await policyWorld(t);
  await world.w.daemon.stop();
  const config = JSON.parse(await readFile(world.w.daemon.configPath, 'utf8')) as object;
  await writeFile(world.w.daemon.configPath, JSON.stringify({ ...config, autostart: true }));
  return world;
}

function get(socket: string, lines: string[]) {
  return runHelper(['--socket', socket, 'get'], `${lines.join('\n')}\n\n`);
}

t.test('a client gets a token only for what its own socket allows', async (t) => {
  const { w, socketA, socketB } = await policyWorld(t);
  const host = w.github.host;

  const onA = await get(socketA, ['protocol=http', `host=${host}`, 'path=acme/widgets.git']);
  const onB = await get(socketB, ['protocol=http', `host=${host}`, 'path=acme/gadgets.git']);

  t.match(onA.stdout, /^password=ghs_/m, 'socket A serves acme/widgets');
  t.match(onB.stdout, /^password=ghs_/m, 'socket B serves acme/gadgets');
  t.same(w.github.mints[0]!.permissions, { contents: 'read' }, "A's ceiling is what it minted");
  t.same(w.github.mints[1]!.permissions, { contents: 'write' }, 'B keeps the integration default');
  const minted = (await w.daemon.auditRecords()).filter((r) => r.event === 'token.minted');
  t.same(
    minted.map((r) => r.listener),
    [socketA, socketB],
  );
});

t.test(
  'a client on socket A cannot obtain a repository only socket B allows, however it writes it',
  async (t) => {
    const { w, socketA } = await policyWorld(t);
    const host = w.github.host;
    const attempts: Record<string, string[]> = {
      plain: ['protocol=http', `host=${host}`, 'path=acme/gadgets.git'],
      'upper case': ['protocol=http', `host=${host.toUpperCase()}`, 'path=ACME/Gadgets.GIT'],
      'dot-dot': ['protocol=http', `host=${host}`, 'path=acme/widgets/../gadgets'],
      'dot-dot at the end': ['protocol=http', `host=${host}`, 'path=acme/widgets/..%2Fgadgets'],
      'encoded slash': ['protocol=http', `host=${host}`, 'path=acme%2Fgadgets'],
      'double-encoded slash': ['protocol=http', `host=${host}`, 'path=acme%252Fgadgets'],
      'encoded letters': ['protocol=http', `host=${host}`, 'path=acme/%67adgets'],
      'surrounding slashes': ['protocol=http', `host=${host}`, 'path=//acme/gadgets//'],
      'url override': [
        'protocol=http',
        `host=${host}`,
        'path=acme/widgets.git',
        `url=http://${host}/acme/gadgets.git`,
      ],
      'url with credentials': [`url=http://x:y@${host}/acme/gadgets.git`],
    };
    const requestsBefore = w.github.requests.length;
    const outputs: Record<string, string> = {};

    for (const [name, lines] of Object.entries(attempts)) {
      const result = await get(socketA, lines);
      outputs[name] = result.stdout + result.stderr;
      t.notMatch(result.stdout, /password=/, `${name}: no credential`);
      t.match(result.stdout, /^quit=1$/m, `${name}: git is told to stop`);
    }

    t.equal(w.github.requests.length, requestsBefore, 'GitHub was never called');
    t.equal(w.github.mintCount, 0);
    const denied = (await w.daemon.auditRecords()).filter((r) => r.event === 'token.denied');
    t.equal(denied.length, Object.keys(attempts).length, 'each attempt was audited as denied');
    t.ok(
      denied.every((record) => record.listener === socketA),
      'each record names the socket it came in on',
    );
    assertNoSecrets(
      t,
      { ...outputs, daemon: w.daemon.output(), audit: await w.daemon.auditText() },
      [...w.github.issuedTokens(), ...privateKeyFragments(w.app.privateKeyPem)],
    );
  },
);

t.test('a client cannot ask for more than its socket allows', async (t) => {
  const { w, socketA } = await policyWorld(t);
  const target = { protocol: 'http', host: w.github.host, path: 'acme/widgets' };
  const { sendRequest } = await import('../../shared/daemon-client.js');

  const reply = await sendRequest(socketA, {
    v: 1,
    op: 'get',
    target,
    permissions: { contents: 'write' },
    requester: { pid: 1, ppid: 1 },
  });

  t.equal(reply.ok, false);
  t.match(reply.ok ? {} : reply.error, { code: 'DENIED', quit: true });
  t.equal(w.github.mintCount, 0);
});

t.test('an empty permissions request on a socket with a ceiling gets the ceiling', async (t) => {
  const { w, socketA } = await policyWorld(t);
  const { sendRequest } = await import('../../shared/daemon-client.js');

  const reply = await sendRequest(socketA, {
    v: 1,
    op: 'get',
    target: { protocol: 'http', host: w.github.host, path: 'acme/widgets' },
    permissions: {},
    requester: { pid: 1, ppid: 1 },
  });

  t.equal(reply.ok, true);
  t.same(w.github.mints[0]!.permissions, { contents: 'read' });
});

t.test('a client cannot erase what its socket does not allow', async (t) => {
  const { w, socketA, socketB } = await policyWorld(t);
  const host = w.github.host;
  await get(socketB, ['protocol=http', `host=${host}`, 'path=acme/gadgets']);

  const erase = await runHelper(
    ['--socket', socketA, 'erase'],
    `protocol=http\nhost=${host}\npath=acme/gadgets\n\n`,
  );
  const again = await get(socketB, ['protocol=http', `host=${host}`, 'path=acme/gadgets']);

  t.match(erase.stderr, /not allowed on socket/);
  t.match(
    (await w.daemon.auditRecords()).filter((r) => r.event === 'token.denied'),
    [{ repository: 'acme/gadgets', error: { code: 'DENIED' } }],
    'the refused erase is audited as denied',
  );
  t.match(again.stdout, /^password=ghs_/m);
  t.equal(w.github.mintCount, 1, "B's cached token survived A's erase");
});

t.test(
  "a read-only socket's erase leaves the write token of the same repository alone",
  async (t) => {
    const { w, socketA } = await policyWorld(t);
    const host = w.github.host;
    const lines = ['protocol=http', `host=${host}`, 'path=acme/widgets'];
    const write = await get(w.daemon.socketPath, lines);
    const read = await get(socketA, lines);

    const erase = await runHelper(['--socket', socketA, 'erase'], `${lines.join('\n')}\n\n`);
    const writeAgain = await get(w.daemon.socketPath, lines);
    const readAgain = await get(socketA, lines);

    t.equal(erase.code, 0, erase.stderr);
    t.match(writeAgain.stdout, /^password=ghs_/m);
    t.equal(
      /password=(.*)/.exec(writeAgain.stdout)?.[1],
      /password=(.*)/.exec(write.stdout)?.[1],
      'the write token is still cached',
    );
    t.not(
      /password=(.*)/.exec(readAgain.stdout)?.[1],
      /password=(.*)/.exec(read.stdout)?.[1],
      'the read token was erased',
    );
    t.equal(w.github.mintCount, 3, 'write, read, and read again');
  },
);

t.test(
  'autostart from a restricted socket starts the daemon on the operator socket too',
  async (t) => {
    const { w, socketA } = await autostartWorld(t);
    const env = {
      ...w.env,
      GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath,
      GIT_CREDENTIAL_BROKER_SOCKET: w.daemon.socketPath,
      XDG_STATE_HOME: join(w.dir, 'state'),
    };
    t.teardown(() => runHelper(['stop'], '', env));

    const fromSandbox = await runHelper(
      ['--socket', socketA, 'get'],
      `protocol=http\nhost=${w.github.host}\npath=acme/widgets\n\n`,
      env,
    );
    const status = await runHelper(['status'], '', env);
    const stop = await runHelper(['stop'], '', env);

    t.match(fromSandbox.stdout, /^password=ghs_/m, fromSandbox.stderr);
    t.equal(status.code, 0, `the operator reaches the daemon: ${status.stderr}`);
    t.equal(stop.code, 0, stop.stderr);
  },
);

t.test(
  'autostart from a sandbox whose environment names its listener still opens the default socket',
  async (t) => {
    const { w, socketA } = await autostartWorld(t);
    const base = {
      ...w.env,
      GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath,
      XDG_RUNTIME_DIR: await runtimeDir(t),
      XDG_STATE_HOME: join(w.dir, 'state'),
    };
    const sandbox = { ...base, GIT_CREDENTIAL_BROKER_SOCKET: socketA };
    t.teardown(() => runHelper(['stop'], '', base));

    const fromSandbox = await runHelper(
      ['get'],
      `protocol=http\nhost=${w.github.host}\npath=acme/widgets\n\n`,
      sandbox,
    );
    const status = await runHelper(['status'], '', base);

    t.match(fromSandbox.stdout, /^password=ghs_/m, fromSandbox.stderr);
    t.equal(
      status.code,
      0,
      `the operator reaches the daemon on the default socket: ${status.stderr}`,
    );
  },
);

t.test(
  'autostart where a running daemon holds a listener of the config stops git at once',
  async (t) => {
    // Found in a new-user trial: from a shell whose default socket differed
    // (no XDG_RUNTIME_DIR), the new daemon could not take the listeners the
    // running one held; git waited the whole timeout, then prompted.
    const { w } = await policyWorld(t);
    const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as object;
    await writeFile(w.daemon.configPath, JSON.stringify({ ...config, autostart: true }));
    const env = {
      ...w.env,
      GIT_CREDENTIAL_BROKER_CONFIG: w.daemon.configPath,
      XDG_RUNTIME_DIR: await runtimeDir(t),
      XDG_STATE_HOME: join(w.dir, 'state'),
    };

    const get = await runHelper(
      ['get'],
      `protocol=http\nhost=${w.github.host}\npath=acme/widgets\n\n`,
      env,
    );

    t.equal(get.code, 1, get.stderr);
    // Without the fix: the whole 10 s timeout, then no quit=1.
    t.equal(get.stdout, 'quit=1\n', 'git is told to stop, not to prompt');
    t.match(get.stderr, /another broker daemon \(pid \d+\) holds '/);
    t.match(get.stderr, /if that daemon is the one to use, give git its socket/);
  },
);

t.test(
  'a daemon whose own socket has a client policy says at start, and on stop, how to stop it',
  async (t) => {
    // Found in a new-user trial: stop said "use the daemon's --socket",
    // which was the very socket refusing it, and the daemon had no other.
    const w = await createBrokerWorld(t.testdir(), { installed: ['widgets'] });
    t.teardown(() => w.stop());
    const config = JSON.parse(await readFile(w.daemon.configPath, 'utf8')) as Record<
      string,
      unknown
    >;
    // The key's path as absolute: the second daemon's config is elsewhere.
    for (const integration of config.integrations as Record<string, string>[]) {
      integration.privateKeyPath = resolve(
        dirname(w.daemon.configPath),
        integration.privateKeyPath!,
      );
    }
    const socket = join(await runtimeDir(t), 'run', 'daemon.sock');
    const ownDir = join(w.dir, 'own');
    await mkdir(ownDir);
    const own = await startDaemonProcess(
      ownDir,
      { ...config, listeners: [{ socket, allow: ['acme/widgets'] }] },
      {},
      { socketPath: socket },
    );
    t.teardown(() => own.stop());

    const stop = await runHelper(['stop', '--socket', socket], '', w.env);
    const reload = await runHelper(['reload', '--socket', socket], '', w.env);
    const code = await own.stop();

    t.equal(stop.code, 1);
    t.match(
      stop.stderr,
      `'stop' is not allowed on socket '${socket}', which has a client policy; every socket of this daemon is a sandbox's: ask the operator to stop it, or, as the operator, stop it with SIGTERM (kill -TERM ${own.pid})`,
    );
    t.match(own.output(), `stop it with SIGTERM (kill -TERM ${own.pid})`, 'said at start too');
    t.equal(reload.code, 1);
    t.match(
      reload.stderr,
      `reload asks the daemon for its status (its pid, and how the reload went), and 'status' is not allowed on socket '${socket}'`,
      'reload says why status was asked for',
    );
    t.equal(code, 0, 'SIGTERM stops it as said');
  },
);
