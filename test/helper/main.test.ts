import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { isolatedGitHome } from '../fixtures/git.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { recordSecrets } from '../fixtures/leak-ledger.js';
import { runHelper } from '../fixtures/run-helper.js';

t.test(
  'a runaway input is refused without buffering it all, and git is told to quit',
  async (t) => {
    const result = await runHelper(
      ['--socket', '/nonexistent/daemon.sock', 'get'],
      `path=${'a'.repeat(300 * 1024)}\n\n`,
    );

    t.equal(result.code, 2);
    t.match(result.stderr, /^git-credential-broker: git sent more than 262144 bytes of input\n$/);
    t.equal(result.stdout, 'quit=1\n');
  },
);

t.test('store reads nothing and answers nothing', async (t) => {
  const result = await runHelper(
    ['--socket', '/nonexistent/daemon.sock', 'store'],
    'protocol=https\n',
  );

  t.equal(result.code, 0);
  t.equal(result.stdout, '');
  t.equal(result.stderr, '');
});

t.test(
  'an empty or unusable --socket stops git with the reason, as a malformed command line',
  async (t) => {
    for (const args of [
      ['--socket=', 'get'],
      ['--socket', `/${'x'.repeat(120)}`, 'get'],
    ]) {
      const result = await runHelper(args, 'protocol=https\nhost=github.com\n\n');

      t.equal(result.code, 2, args.join(' '));
      t.match(result.stderr, /--socket was given an empty path|longer than \d+ bytes/);
      t.equal(result.stdout, 'quit=1\n', 'git is told not to prompt');
    }
  },
);

t.test(
  'daemon --config with an empty path is refused, not run on the default config',
  async (t) => {
    // Found in review: `daemon --config ''` started on ~/.config/... instead.
    const home = t.testdir();
    for (const args of [
      ['daemon', '--config', ''],
      ['daemon', '--config='],
      ['daemon', '--detach', '--config', ' '],
    ]) {
      const result = await runHelper(args, '', { ...process.env, HOME: home, XDG_CONFIG_HOME: '' });
      t.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      t.match(result.stderr, /--config was given an empty path/);
    }
  },
);

t.test(
  'an empty GIT_CREDENTIAL_BROKER_CONFIG or _SOCKET stops the command with the variable named',
  async (t) => {
    const home = t.testdir();
    const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: '', XDG_RUNTIME_DIR: home };
    const defaultConfig = join(home, '.config', 'git-credential-broker', 'config.json');
    await mkdir(dirname(defaultConfig), { recursive: true });
    // The default config would start a daemon: the empty variable must not lead to it.
    await writeFile(defaultConfig, '{"integrations": []}');

    const daemon = await runHelper(['daemon'], '', { ...env, GIT_CREDENTIAL_BROKER_CONFIG: '' });
    const detached = await runHelper(['daemon', '--detach'], '', {
      ...env,
      GIT_CREDENTIAL_BROKER_CONFIG: '',
    });
    const get = await runHelper(['get'], 'protocol=https\nhost=github.com\n\n', {
      ...env,
      GIT_CREDENTIAL_BROKER_SOCKET: '',
    });
    const status = await runHelper(['status', '--json'], '', {
      ...env,
      GIT_CREDENTIAL_BROKER_SOCKET: '',
    });

    for (const [name, result] of Object.entries({ daemon, detached })) {
      t.equal(result.code, 1, `${name}: ${result.stderr}`);
      t.match(
        result.stderr,
        /^git-credential-broker: GIT_CREDENTIAL_BROKER_CONFIG is set but empty; set it to the config file's path, or unset it/,
        name,
      );
      t.notMatch(result.stderr, /integrations must be/, `${name}: the default config was not read`);
    }
    t.equal(get.code, 1, get.stderr);
    t.equal(get.stdout, 'quit=1\n', 'git is told not to prompt');
    t.match(get.stderr, /GIT_CREDENTIAL_BROKER_SOCKET is set but empty/);
    t.equal(status.code, 1);
    t.match(JSON.parse(status.stdout), {
      running: false,
      code: 'CONFIG',
      error: /GIT_CREDENTIAL_BROKER_SOCKET is set but empty/,
    });
  },
);

t.test(
  'an action a later git may add is ignored on a pipe, exit 0, with one line on stderr',
  async (t) => {
    // Git runs `HELPER ACTION` with the request on a pipe; no daemon is needed
    // to ignore it, and git reads nothing back. Git shows stderr, parses none.
    const input = 'protocol=https\nhost=github.com\npath=acme/widgets\n\n';
    for (const args of [['capability'], ['--socket', '/nonexistent/d.sock', 'frobnicate']]) {
      const result = await runHelper(args, input);

      t.equal(result.code, 0, args.join(' '));
      t.equal(result.stdout, '', 'nothing for git to read');
      t.equal(
        result.stderr,
        `git-credential-broker: ignoring unknown action '${args.at(-1)}' (a later git's?); run git-credential-broker --help for the commands\n`,
      );
    }
    // A slip away from one of our commands is no git action, pipe or not.
    const typo = await runHelper(['--socket', '/nonexistent/d.sock', 'stauts'], input);
    t.equal(typo.code, 2);
    t.match(typo.stderr, /unknown command 'stauts'; did you mean 'status'\?/);
  },
);

t.test("a pipe from the shell, as git's pipe(2), counts as git too", async (t) => {
  // runHelper's stdin is a socket pair (Node's pipes); git's is a FIFO.
  const run = spawnSync(
    'sh',
    [
      '-c',
      `printf 'protocol=https\\nhost=github.com\\n\\n' | "$0" "$1" start`,
      process.execPath,
      HELPER_BIN,
    ],
    { encoding: 'utf8' },
  );

  t.equal(run.status, 0, run.stderr);
  t.match(
    run.stderr,
    /^git-credential-broker: ignoring unknown action 'start' \(a later git's\?\)/,
  );
});

t.test(
  'an unknown command with stdin a file or /dev/null (a script) is refused, exit 2',
  async (t) => {
    const dir = t.testdir({ 'request.txt': 'protocol=https\nhost=github.com\n\n' });
    for (const stdin of ['/dev/null', join(dir, 'request.txt')]) {
      const fd = openSync(stdin, 'r');
      const run = spawnSync(process.execPath, [HELPER_BIN, 'start'], {
        stdio: [fd, 'pipe', 'pipe'],
        encoding: 'utf8',
      });
      closeSync(fd);

      t.equal(run.status, 2, stdin);
      t.equal(run.stdout, '');
      t.equal(
        run.stderr,
        "git-credential-broker: unknown command 'start'; run git-credential-broker --help for the commands\n",
      );
    }
  },
);

t.test(
  'an unknown command typed at a terminal is refused, far from every command or not',
  { skip: spawnSync('script', ['--version']).status === 0 ? false : 'needs util-linux script' },
  async (t) => {
    // script(1) gives the helper a terminal on stdin, as a person has.
    const typed = (command: string) =>
      spawnSync('script', ['-qec', `${process.execPath} ${HELPER_BIN} ${command}`, '/dev/null'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });

    const far = typed('capability');
    const near = typed('stauts');

    t.equal(far.status, 2, far.stdout);
    t.match(
      far.stdout,
      "git-credential-broker: unknown command 'capability'; run git-credential-broker --help for the commands",
    );
    t.equal(near.status, 2, near.stdout);
    t.match(near.stdout, "unknown command 'stauts'; did you mean 'status'? Run");
  },
);

t.test('--socket may follow the action; anything else around it is refused', async (t) => {
  // Found in a new-user trial: `get --socket S` silently did nothing.
  const input = 'protocol=https\nhost=github.com\npath=acme/widgets\n\n';
  for (const args of [
    ['get', '--socket', '/nonexistent/after.sock'],
    ['get', '--socket=/nonexistent/after.sock'],
  ]) {
    const result = await runHelper(args, input);
    t.equal(result.code, 1, args.join(' '));
    t.match(result.stderr, /'\/nonexistent\/after\.sock'/, 'the socket given was the one asked');
  }
  for (const args of [
    ['--socket', '/a.sock', '--socket', '/b.sock', 'get'],
    ['erase', '--socket'],
    ['get', 'erase'],
  ]) {
    const result = await runHelper(args, input);
    t.equal(result.code, 2, args.join(' '));
    t.match(
      result.stderr,
      /get, store and erase take only --socket PATH|Unknown argument: erase|--socket needs a value/,
    );
  }
});

t.test("'--' or a --socket without its path is refused, and a get tells git to stop", async (t) => {
  for (const args of [
    ['--', 'get'],
    ['get', '--socket'],
  ]) {
    const result = await runHelper(args, 'protocol=https\nhost=github.com\n\n');
    t.equal(result.code, 2, args.join(' '));
    t.equal(result.stdout, 'quit=1\n', 'git is told not to prompt');
    t.match(result.stderr, /'--' is not used|--socket needs a value, and none followed it/);
  }
});

t.test('token without a repository says a repository or URL is needed', async (t) => {
  for (const args of [['token'], ['token', '--json'], ['token', '--host', 'github.com']]) {
    const result = await runHelper(args, '');

    t.equal(result.code, 2, args.join(' '));
    t.equal(
      result.stderr,
      "git-credential-broker: token needs a repository: owner/repo or a clone URL, for example token acme/widgets; see 'git-credential-broker token --help'\n",
      args.join(' '),
    );
  }
});

t.test('an option given last without its value is refused, not run on its default', async (t) => {
  // Found in review: `configure --host` configured github.com, exit 0.
  const home = await isolatedGitHome(t);
  const env = {
    ...home.env,
    XDG_RUNTIME_DIR: home.dir,
    GIT_CREDENTIAL_BROKER_SOCKET: join(home.dir, 'none.sock'),
  };
  for (const args of [
    ['configure', '--host'],
    ['configure', '--unset', '--host'],
    ['configure', '--socket'],
    ['token', 'acme/widgets', '--host'],
    ['token', 'acme/widgets', '--permission'],
    ['token', 'acme/widgets', '--socket'],
    ['status', '--socket'],
    ['stop', '--socket'],
    ['daemon', '--config'],
    ['daemon', '--detach', '--socket'],
  ]) {
    const result = await runHelper(args, '', env, { cwd: home.dir });

    const option = args.at(-1) === '--unset' ? '--host' : args.at(-1);
    t.equal(result.code, 2, args.join(' '));
    t.equal(
      result.stderr,
      `git-credential-broker: ${option} needs a value, and none followed it; see 'git-credential-broker ${args[0]} --help'\n`,
    );
  }
  // Followed by an option, not by nothing: named as such (option-spelling.test.ts).
  const followed = await runHelper(['configure', '--host', '--unset'], '', env, { cwd: home.dir });
  t.equal(followed.code, 2);
  t.match(followed.stderr, "--host needs a value, and '--unset' after it looks like an option");
  t.notOk(existsSync(join(home.dir, '.gitconfig')), 'configure wrote nothing');
});

t.test(
  'a value option followed by an option is refused on the fast paths as in the full parser',
  async (t) => {
    // Found in review: `daemon --socket --config` listened on './--config'
    // and `--socket --x get` asked a socket named '--x'.
    const dir = await mkdtemp(join(tmpdir(), 'gcb-dash-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    for (const [args, option, next] of [
      [['daemon', '--socket', '--config'], '--socket', '--config'],
      [['daemon', '--config', '--detach'], '--config', '--detach'],
      [['--socket', '--x', 'get'], '--socket', '--x'],
    ] as const) {
      const result = await runHelper([...args], 'protocol=https\nhost=github.com\n\n', undefined, {
        cwd: dir,
      });

      t.equal(result.code, 2, args.join(' '));
      t.match(
        result.stderr,
        `${option} needs a value, and '${next}' after it looks like an option; if the value really starts with '-', write ${option}=PATH`,
      );
      t.equal(result.stdout, args.at(-1) === 'get' ? 'quit=1\n' : '', 'git stops on a get');
      t.notOk(existsSync(join(dir, next)), 'nothing was made under the option name');
    }
  },
);

t.test('quit=1 is for a failed get only, not for a socket named get', async (t) => {
  const result = await runHelper(['status', '--socket', 'get'], '');
  t.equal(result.code, 1);
  t.equal(result.stdout, '', 'status prints nothing git would read');
});

t.test(
  'a daemon reply the helper cannot read stops git, exit 1, and says to restart the daemon',
  async (t) => {
    // Short: a socket path is limited to about 100 bytes.
    const dir = await mkdtemp(join(tmpdir(), 'gcb-reply-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const replies = ['not json', '{"v":2,"ok":true,"credential":{}}', '{"v":1}'];
    for (const [i, reply] of replies.entries()) {
      const socketPath = join(dir, `${i}.sock`);
      const server = createServer((socket) => socket.end(`${reply}\n`));
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));

      const result = await runHelper(
        ['--socket', socketPath, 'get'],
        'protocol=https\nhost=github.com\npath=acme/widgets\n\n',
      );
      server.close();

      t.equal(result.code, 1, reply);
      t.equal(result.stdout, 'quit=1\n', 'git is told not to prompt');
      // Not JSON is no broker daemon of any release: upgrading would not help.
      t.match(
        result.stderr,
        reply === 'not json'
          ? /not in the broker's protocol \(its answer is not JSON\): it is no broker daemon of any release/
          : /cannot read the broker daemon's reply: .*restart the daemon after upgrading/,
      );
    }
  },
);

t.test(
  'part of a reply, then a closed connection, stops git as a garbage reply does',
  async (t) => {
    // Found in review: git was not told to quit, and prompted.
    const dir = await mkdtemp(join(tmpdir(), 'gcb-part-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'part.sock');
    const server = createServer((socket) => socket.end('{"v":1,"ok":tr'));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    t.teardown(() => server.close());

    const result = await runHelper(
      ['--socket', socketPath, 'get'],
      'protocol=https\nhost=github.com\npath=acme/widgets\n\n',
    );

    t.equal(result.code, 1);
    t.equal(result.stdout, 'quit=1\n', 'git is told not to prompt');
    t.match(
      result.stderr,
      `'${socketPath}' sent part of a reply (14 bytes, no end of line) and closed`,
    );
  },
);

t.test(
  'a daemon credential git cannot take (a newline in a value) is the daemon fault: exit 1, git told to stop',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'gcb-cred-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const secret = 'ghs_NEWLINESECRET\nquit=0';
    recordSecrets([secret.split('\n')[0]!]);
    const credential = {
      username: 'u\nx=y',
      secret,
      expiresAtMs: 1e13,
      granted: {},
      cached: false,
    };
    const socketPath = join(dir, 'd.sock');
    const server = createServer((socket) =>
      socket.end(`${JSON.stringify({ v: 1, ok: true, credential })}\n`),
    );
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    t.teardown(() => server.close());

    const result = await runHelper(
      ['--socket', socketPath, 'get'],
      'protocol=https\nhost=github.com\npath=acme/widgets\n\n',
    );

    t.equal(result.code, 1, result.stderr);
    t.equal(result.stdout, 'quit=1\n', 'nothing but quit=1 for git');
    // Refused as the reply arrives (shared/reply-shape.ts), before git-actions sees it.
    t.match(
      result.stderr,
      /the broker daemon at '.*' sent a credential reply whose 'username' holds a newline/,
    );
    t.notMatch(result.stderr, /NEWLINESECRET/);
  },
);
