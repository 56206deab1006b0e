/**
 * Option spellings through the bundled binary: a boolean option with a
 * value other than true or false is refused, the last of --json and
 * --no-json wins on the failure path too, a value option never takes an
 * option for its value, and a mistyped option gets a "did you mean".
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { isolatedGitHome } from '../fixtures/git.js';
import { runHelper } from '../fixtures/run-helper.js';

/** A home with no daemon and no config: every command that asks one fails. */
async function setup(t: Test) {
  const home = await isolatedGitHome(t, 'gcb-opts-');
  const socket = join(home.dir, 'none.sock');
  const run = (...args: string[]) => runHelper(args, '', home.env);
  return { socket, run };
}

t.test('a boolean option refuses a value other than true or false', async (t) => {
  const { socket, run } = await setup(t);

  for (const [args, shown] of [
    [['status', '--json=yes', '--socket', socket], '--json'],
    [['token', 'acme/widgets', '--json=1', '--socket', socket], '--json'],
    [['daemon', '--detach=no', '--socket', socket], '--detach'],
    [['configure', '--global=yes'], '--global'],
  ] as const) {
    const result = await run(...args);

    t.equal(result.code, 2, args.join(' '));
    t.match(
      result.stderr,
      `${shown} is on or off: write ${shown}, ${shown}=true or ${shown}=false, not '${args.find((word) => word.startsWith(`${shown}=`))}'`,
    );
  }
  const negated = await run('status', '--no-json=true', '--socket', socket);
  t.equal(negated.code, 2);
  t.match(negated.stderr, '--no-json takes no value; write --no-json or --json=false');
});

t.test('true and false are taken as yargs takes them', async (t) => {
  const { socket, run } = await setup(t);

  const on = await run('status', '--json=true', '--socket', socket);
  const off = await run('status', '--json=false', '--socket', socket);

  t.equal(on.code, 1);
  t.match(JSON.parse(on.stdout), { running: false, code: 'DAEMON_UNREACHABLE' });
  t.equal(off.code, 1);
  t.equal(off.stdout, '', 'no JSON when it is turned off');
});

t.test('the last of --json and --no-json wins, on the failure path too', async (t) => {
  const { socket, run } = await setup(t);

  const offLast = [
    await run('status', '--json', '--no-json', '--socket', socket),
    await run('token', 'acme/widgets', '--json', '--no-json', '--socket', socket),
    // A command-line mistake: jsonForFailure prints the report.
    await run('status', '--json', '--no-json', '--frob'),
    await run('token', 'acme/widgets', '--json', '--json=false', '--frob'),
  ];
  const onLast = [
    await run('status', '--no-json', '--json', '--socket', socket),
    await run('status', '--no-json', '--json', '--frob'),
    await run('token', 'acme/widgets', '--no-json', '--json', '--frob'),
  ];

  for (const result of offLast) {
    t.not(result.code, 0);
    t.equal(result.stdout, '', 'no JSON report');
  }
  for (const result of onLast) {
    t.not(result.code, 0);
    t.type(JSON.parse(result.stdout), 'object', 'a JSON report');
  }
});

t.test('a value option does not take an option for its value', async (t) => {
  const { run } = await setup(t);

  const status = await run('status', '--socket', '--json');
  const before = await run('--socket', '--json', 'status');
  const token = await run('token', 'acme/widgets', '--host', '--json');
  const permission = await run('token', 'acme/widgets', '--permission', '-x');

  for (const result of [status, before]) {
    t.equal(result.code, 2);
    t.match(
      result.stderr,
      "--socket needs a value, and '--json' after it looks like an option; if the value really starts with '-', write --socket=PATH",
    );
    t.match(JSON.parse(result.stdout), { running: false, socket: null, code: 'BAD_REQUEST' });
  }
  t.equal(token.code, 2);
  t.match(token.stderr, "--host needs a value, and '--json' after it looks like an option");
  t.match(JSON.parse(token.stdout), { code: 'BAD_REQUEST' });
  t.equal(permission.code, 2);
  t.match(permission.stderr, 'write --permission=NAME=LEVEL');
});

t.test('a path that starts with a dash is taken as --socket=PATH', async (t) => {
  const { run } = await setup(t);

  const result = await run('status', '--socket=-odd.sock', '--json');

  t.notMatch(result.stderr, /looks like an option/);
  t.match(JSON.parse(result.stdout), { socket: /-odd\.sock$/ });
});

t.test('a mistyped option gets a "did you mean"', async (t) => {
  const { socket, run } = await setup(t);

  const json = await run('status', '--jsn', '--socket', socket);
  const permission = await run('token', 'acme/widgets', '--permision', 'contents=read');
  const negated = await run('status', '--no-jsn', '--socket', socket);
  const far = await run('status', '--frobnicate', '--socket', socket);

  t.equal(json.code, 2);
  t.match(
    json.stderr,
    "Unknown argument: jsn (did you mean --json?); see 'git-credential-broker status --help'",
  );
  t.match(permission.stderr, 'Unknown argument: permision (did you mean --permission?)');
  t.match(negated.stderr, /did you mean --no-json\?/);
  t.match(far.stderr, "Unknown argument: frobnicate; see 'git-credential-broker status --help'");
});

t.test('a single-dash option gets a "did you mean" with two dashes', async (t) => {
  // Found in review: `-json` was "Unknown arguments: j, s, o, n".
  const { run } = await setup(t);

  const result = await run('status', '-json');

  t.equal(result.code, 2);
  t.match(result.stderr, "unknown option '-json' (did you mean --json?); options take two dashes");
});

t.test(
  'a failure report names the socket yargs would use: the last, either spelling',
  async (t) => {
    // Found in review: `--socket=A --socket B` named A.
    const { run } = await setup(t);

    const spaced = await run(
      'status',
      '--json',
      '--socket=/tmp/a.sock',
      '--socket',
      '/tmp/b.sock',
      '--frob',
    );
    const joined = await run(
      'status',
      '--json',
      '--socket',
      '/tmp/a.sock',
      '--socket=/tmp/b.sock',
      '--frob',
    );

    for (const result of [spaced, joined]) {
      t.equal(result.code, 2);
      t.match(JSON.parse(result.stdout), { running: false, socket: '/tmp/b.sock' });
    }
  },
);
