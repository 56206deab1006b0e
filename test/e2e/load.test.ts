/**
 * Under load, end to end: 64 concurrent clients, each request on a new
 * connection as git makes them, through a real daemon to the
 * GitHub-compatible server. Correctness only; speed is for bench/.
 */
import t from 'tap';
import { sendRequest } from '../../shared/daemon-client.js';
import { PROTOCOL_VERSION, type Reply } from '../../shared/protocol.js';
import { createBrokerWorld, OWNER } from '../fixtures/broker-world.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';

const CLIENTS = 64;
const REQUESTS = 10_000;
const REPOSITORIES = Array.from({ length: 100 }, (_, i) => `repo-${i}`);

t.test(
  '10,000 requests from 64 concurrent clients over 100 repositories: no error, one mint per scope',
  async (t) => {
    const w = await createBrokerWorld(t.testdir(), {
      installed: REPOSITORIES,
      bareRepos: false,
    });
    t.teardown(() => w.stop());
    const failures: string[] = [];
    const secretsByRepo = new Map<string, Set<string>>();
    let next = 0;

    const client = async (): Promise<void> => {
      while (next < REQUESTS) {
        const repo = REPOSITORIES[next++ % REPOSITORIES.length]!;
        let reply: Reply;
        try {
          reply = await sendRequest(w.daemon.socketPath, {
            v: PROTOCOL_VERSION,
            op: 'get',
            target: { protocol: 'http', host: w.github.host, path: `${OWNER}/${repo}` },
            requester: { pid: process.pid, ppid: process.ppid },
          });
        } catch (error) {
          failures.push((error as Error).message);
          continue;
        }
        if (!reply.ok || reply.credential === undefined) {
          failures.push(reply.ok ? 'no credential' : reply.error.message);
          continue;
        }
        const seen = secretsByRepo.get(repo) ?? new Set();
        seen.add(reply.credential.secret);
        secretsByRepo.set(repo, seen);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));

    t.same(failures.slice(0, 5), [], 'no request failed');
    t.equal(w.github.mintCount, REPOSITORIES.length, 'one mint per repository');
    const minted = new Map<string, number>();
    for (const mint of w.github.mints) {
      const repo = mint.repositories?.join(',') ?? '*';
      minted.set(repo, (minted.get(repo) ?? 0) + 1);
    }
    t.ok(
      [...minted.values()].every((count) => count === 1),
      'no repository was minted twice',
    );
    t.ok(
      [...secretsByRepo.values()].every((secrets) => secrets.size === 1),
      'every client got the same token for a repository',
    );
    await w.daemon.stop();
    const events = (await w.daemon.auditRecords()).map((r) => r.event);
    t.equal(events.length, REQUESTS, 'every request was audited');
    assertNoSecrets(
      t,
      { daemon: w.daemon.output(), audit: await w.daemon.auditText() },
      w.github.issuedTokens(),
    );
  },
);

t.test('any number of concurrent misses for one scope cause exactly one mint', async (t) => {
  const w = await createBrokerWorld(t.testdir(), { bareRepos: false });
  t.teardown(() => w.stop());
  w.github.injectFault({ method: 'POST', path: /access_tokens$/, status: 0, delayMs: 300 });

  const replies = await Promise.all(
    Array.from({ length: 200 }, () => get(w.daemon.socketPath, w.github.host, 'widgets')),
  );

  t.ok(
    replies.every((reply) => reply.ok),
    'every request was served',
  );
  t.equal(w.github.mintCount, 1);
});

t.test('misses for different scopes mint in parallel', async (t) => {
  const w = await createBrokerWorld(t.testdir(), {
    installed: ['one', 'two', 'three'],
    bareRepos: false,
  });
  t.teardown(() => w.stop());
  w.github.injectFault({
    method: 'POST',
    path: /access_tokens$/,
    status: 0,
    delayMs: 3000,
    times: 3,
  });

  const replies = Promise.all(
    ['one', 'two', 'three'].map((repo) => get(w.daemon.socketPath, w.github.host, repo)),
  );
  // Three lookups and three mints reach GitHub before any mint is answered.
  for (let i = 0; i < 500 && w.github.requestsStarted < 6; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const startedBeforeAnyMint = w.github.mintCount === 0 ? w.github.requestsStarted : -1;
  await replies;

  t.equal(startedBeforeAnyMint, 6, 'all three mints were in flight together');
  t.equal(w.github.mintCount, 3);
});

function get(socketPath: string, host: string, repo: string): Promise<Reply> {
  return sendRequest(socketPath, {
    v: PROTOCOL_VERSION,
    op: 'get',
    target: { protocol: 'http', host, path: `${OWNER}/${repo}` },
    requester: { pid: process.pid, ppid: process.ppid },
  });
}
