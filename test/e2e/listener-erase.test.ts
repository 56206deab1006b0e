/**
 * Erase against sockets with maxMintsPerMinute, with a real daemon and real
 * git: an erase is never refused by the limit and never looks anything up,
 * and nothing a client of one socket erases changes another socket's hits
 * or budget (found in review: an erase on any socket made the next hit of
 * the repository look its installation up again, which the limit charged).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createBrokerWorld } from '../fixtures/broker-world.js';
import { cli } from '../fixtures/cli-world.js';
import { assertNoSecrets, privateKeyFragments } from '../fixtures/leak-scan.js';
import { runHelper } from '../fixtures/run-helper.js';

async function socketDir(t: Test): Promise<string> {
  // Test directories are too deep for a Unix socket path (~104 bytes).
  const dir = await mkdtemp(join(tmpdir(), 'gcb-erase-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function credential(host: string, path: string, password?: string): string {
  const lines = ['protocol=http', `host=${host}`, `path=${path}`];
  if (password !== undefined) lines.push('username=x-access-token', `password=${password}`);
  return `${lines.join('\n')}\n\n`;
}

interface Status {
  counters: { hits: number; mints: number; denied: number };
  listeners: { socket: string; mintsRefused?: number }[];
}

t.test(
  'over its limit, a socket still erases, and still gets its cached token whatever others erase',
  async (t) => {
    const dir = await socketDir(t);
    const limited = join(dir, 'ci', 'daemon.sock');
    const other = join(dir, 'other', 'daemon.sock');
    const w = await createBrokerWorld(t.testdir(), {
      installed: ['widgets', 'gadgets'],
      config: {
        listeners: [
          { socket: limited, allow: ['acme/*'], maxMintsPerMinute: 1 },
          { socket: other, allow: ['acme/*'] },
        ],
      },
    });
    t.teardown(() => w.stop());
    const configured = await runHelper(
      ['configure', '--host', w.github.gitBaseUrl, '--socket', limited],
      '',
      w.env,
      { cwd: join(w.dir, 'home') },
    );
    t.equal(configured.code, 0, configured.stderr);
    const host = w.github.host;
    const erase = (socket: string, path: string, password?: string) =>
      runHelper(['--socket', socket, 'erase'], credential(host, path, password));
    const lookups = () =>
      w.github.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/installation'))
        .length;

    // The one request the limit allows this minute.
    const first = await w.git(['ls-remote', w.cloneUrl('widgets')]);
    const token = w.github.issuedTokens()[0]!;
    // Another socket's client erases: a token it never had, then everything it may.
    const wrong = await erase(other, 'acme/widgets.git', 'ghs_not-a-token-of-ours');
    const all = await erase(other, 'acme/widgets.git');
    const again = await w.git(['ls-remote', w.cloneUrl('widgets')]);
    // Repositories that do not exist: an erase looks nothing up.
    for (const name of ['nope1', 'nope2', 'nope3']) await erase(limited, `acme/${name}.git`);
    const lookupsBefore401 = lookups();
    // GitHub stops taking the token: git gets a 401 and erases through the limited socket.
    w.github.expireToken(token);
    const rejected = await w.git(['ls-remote', w.cloneUrl('widgets')]);
    const status = JSON.parse((await cli(w, ['status', '--json'])).stdout) as Status;
    const records = await w.daemon.auditRecords();

    t.equal(first.code, 0, first.stderr);
    t.equal(wrong.code, 0, wrong.stderr);
    t.equal(all.code, 0, all.stderr);
    t.equal(again.code, 0, `the cached token is still served: ${again.stderr}`);
    t.equal(lookupsBefore401, 1, 'one installation lookup: no erase made a hit look up again');
    t.not(rejected.code, 0, 'git fails on the 401');
    t.equal(w.github.mintCount, 1);
    const erased = records.filter((r) => r.event === 'token.erased');
    t.same(
      erased.map((r) => [r.listener, r.repository, r.erased]),
      [
        [other, 'acme/widgets', 0],
        [other, 'acme/widgets', 0],
        [limited, 'acme/nope1', 0],
        [limited, 'acme/nope2', 0],
        [limited, 'acme/nope3', 0],
        [limited, 'acme/widgets', 1],
      ],
      "the other socket's erases touched nothing here; git's erase dropped the token",
    );
    t.match(
      records.filter((r) => r.event === 'token.revoked'),
      [{ reason: 'erase', listener: limited, repository: 'acme/widgets' }],
      "git's erase revoked the token at GitHub",
    );
    t.same(
      records.filter((r) => r.event === 'token.denied'),
      [],
      'nothing was refused',
    );
    t.equal(status.counters.denied, 0);
    t.equal(status.counters.hits, 2, 'both later git commands were hits');
    t.match(
      status.listeners.find((l) => l.socket === limited),
      { mintsRefused: 0 },
    );
    assertNoSecrets(
      t,
      {
        git: first.stderr + again.stderr + rejected.stderr,
        erases: wrong.stdout + wrong.stderr + all.stdout + all.stderr,
        daemon: w.daemon.output(),
        audit: await w.daemon.auditText(),
      },
      [...w.github.issuedTokens(), ...privateKeyFragments(w.app.privateKeyPem)],
    );
  },
);

t.test(
  'each socket has its own tokens: one socket erasing its token leaves the other one',
  async (t) => {
    const dir = await socketDir(t);
    const limited = join(dir, 'ci', 'daemon.sock');
    const other = join(dir, 'other', 'daemon.sock');
    const w = await createBrokerWorld(t.testdir(), {
      bareRepos: false,
      config: {
        listeners: [
          { socket: limited, allow: ['acme/*'], maxMintsPerMinute: 1 },
          { socket: other, allow: ['acme/*'] },
        ],
      },
    });
    t.teardown(() => w.stop());
    const get = (socket: string) =>
      runHelper(['--socket', socket, 'get'], credential(w.github.host, 'acme/widgets.git'));
    const password = (stdout: string) => /^password=(.*)$/m.exec(stdout)?.[1];

    const mine = password((await get(limited)).stdout);
    const theirs = password((await get(other)).stdout);
    const both = (await cli(w, ['status'])).stdout;
    const erased = await runHelper(
      ['--socket', other, 'erase'],
      credential(w.github.host, 'acme/widgets.git', theirs),
    );
    const mineAgain = password((await get(limited)).stdout);

    t.ok(mine !== undefined && theirs !== undefined, 'both sockets got a token');
    t.not(mine, theirs, 'not the same token');
    t.equal(erased.code, 0, erased.stderr);
    t.equal(mineAgain, mine, "the other socket's erase left this socket's token cached");
    t.equal(w.github.mintCount, 2, 'no third mint, so nothing charged to the limited socket');
    // Two tokens for one repository: status says which socket each is for.
    t.match(both, `acme/widgets [contents:write] via local-github on ${limited}: served`);
    t.match(both, `acme/widgets [contents:write] via local-github on ${other}: served`);
  },
);
