/**
 * The helper's commands for people (token, configure, --help), run as a
 * user would: the built binary against a real daemon, the GitHub-compatible
 * server and real git. status, stop and daemon are in daemon-commands.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { COMMAND_NAMES } from '../../helper/cli.js';
import { recordSecrets } from '../fixtures/leak-ledger.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';
import { cli, fakeDaemon, world } from '../fixtures/cli-world.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';
import { runHelper } from '../fixtures/run-helper.js';

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
  const typo = await cli(w, ['stauts', '--json']);
  const help = await runHelper(['token', '--help'], '', w.env);

  // Found in a trial: yargs said "Did you mean status?", not what was typed.
  t.equal(unknown.code, 2);
  t.equal(
    unknown.stderr,
    "git-credential-broker: unknown command 'frobnicate'; run git-credential-broker --help for the commands\n",
  );
  t.equal(typo.code, 2);
  t.equal(
    typo.stderr,
    "git-credential-broker: unknown command 'stauts'; did you mean 'status'? Run git-credential-broker --help for the commands\n",
  );
  t.equal(typo.stdout, '');
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
  // What token needs, not yargs' "Not enough non-option arguments" (trial).
  t.equal(
    token.stderr,
    "git-credential-broker: token needs a repository: owner/repo or a clone URL, for example token acme/widgets; see 'git-credential-broker token --help'\n",
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

t.test('token --json prints a JSON object when it fails too', async (t) => {
  // Found in a new-user trial: a script piping it to jq got nothing.
  const denying = await fakeDaemon(t, {
    v: 1,
    ok: false,
    error: { code: 'DENIED', message: "repository 'acme/widgets' is not allowed", quit: true },
  });
  const denied = await runHelper(
    ['token', 'acme/widgets', '--json', '--socket', denying],
    '',
    process.env,
  );
  const mistake = await runHelper(['token', 'acme/widgets', '--json', '--bogus'], '', process.env);
  const plain = await runHelper(['token', 'acme/widgets', '--socket', denying], '', process.env);

  t.equal(denied.code, 1);
  t.same(JSON.parse(denied.stdout), {
    error: "repository 'acme/widgets' is not allowed",
    code: 'DENIED',
  });
  t.equal(mistake.code, 2);
  t.match(JSON.parse(mistake.stdout), { code: 'BAD_REQUEST', error: /Unknown argument/ });
  t.equal(plain.stdout, '', 'without --json, nothing on stdout');
});
