import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import pino from 'pino';
import { AuditLog } from '../../daemon/audit-log.js';
import type { CredentialEnvelope, RevokeOutcome } from '../../daemon/provider.js';
import type { Integration } from '../../daemon/provider-registry.js';
import { fingerprint } from '../../daemon/token-cache.js';
import { BrokerError, GitHubApiError } from '../../shared/errors.js';
import { TokenRevoker, type IssuedCredential } from '../../daemon/token-revoker.js';
import { StubProvider, stubIntegrationConfig } from '../fixtures/stub-provider.js';

const MINUTE = 60_000;

class RevokingStub extends StubProvider {
  revoked: string[] = [];

  async revoke(
    envelope: CredentialEnvelope,
    _context?: { signal?: AbortSignal },
  ): Promise<RevokeOutcome> {
    this.revoked.push(envelope.secret);
    return 'revoked';
  }
}

async function setup(t: Test) {
  const clock = { now: 1_700_000_000_000 };
  const now = (): number => clock.now;
  const provider = new RevokingStub(now);
  const config = stubIntegrationConfig();
  const integration: Integration = { config, provider };
  const auditPath = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(auditPath);
  const revoker = new TokenRevoker({ audit, now });
  const issue = async (repository: string, lifetimeMs = 60 * MINUTE): Promise<IssuedCredential> => {
    provider.lifetimeMs = lifetimeMs;
    const target = { protocol: 'https', host: 'git.example', path: repository };
    const scope = await provider.resolveScope(target, {});
    const envelope = await provider.getCredential(target, scope);
    const issued = {
      integration,
      scope,
      target: `https://git.example/${repository}`,
      envelope,
      requester: { pid: 21, ppid: 20 },
    };
    revoker.track(issued);
    return issued;
  };
  const cause = {
    reason: 'erase' as const,
    requestId: 'req-1',
    requester: { pid: 11, ppid: 10 },
    listener: null,
    log: pino({ level: 'silent' }),
  };
  const auditLines = async (): Promise<Record<string, unknown>[]> => {
    return (await readFile(auditPath, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  return { clock, provider, revoker, issue, cause, auditLines };
}

t.test('revokes exactly the tracked credentials the predicate accepts, once', async (t) => {
  const { provider, revoker, issue, cause } = await setup(t);
  const widgets = await issue('acme/widgets');
  await issue('acme/gadgets');

  const first = await revoker.revokeWhere((i) => i.scope.repository === 'acme/widgets', cause);
  const again = await revoker.revokeWhere((i) => i.scope.repository === 'acme/widgets', cause);

  t.equal(first, 1);
  t.equal(again, 0, 'a revoked credential is no longer tracked');
  t.same(provider.revoked, [widgets.envelope.secret]);
  t.equal(revoker.size, 1);
});

t.test('audits a revocation with the fingerprint of the token, never the token', async (t) => {
  const { revoker, issue, cause, auditLines } = await setup(t);
  const issued = await issue('acme/widgets');

  await revoker.revokeAll(cause);

  const lines = await auditLines();
  t.match(lines, [
    {
      event: 'token.revoked',
      outcome: 'revoked',
      reason: 'erase',
      target: 'https://git.example/acme/widgets',
      repository: 'acme/widgets',
      tokenSha256: fingerprint(issued.envelope.secret),
    },
  ]);
  t.notOk(JSON.stringify(lines).includes(issued.envelope.secret));
});

t.test('forgets a credential once it has expired, and keeps the live ones', async (t) => {
  const { clock, provider, revoker, issue, cause } = await setup(t);
  await issue('acme/short', 5 * MINUTE);
  const long = await issue('acme/long', 60 * MINUTE);

  clock.now += 5 * MINUTE;
  const size = revoker.size;
  const { revoked } = await revoker.revokeAll(cause);

  t.equal(size, 1);
  t.equal(revoked, 1);
  t.same(provider.revoked, [long.envelope.secret]);
});

t.test('a credential tracked after an expiry is pruned is itself pruned later', async (t) => {
  const { clock, revoker, issue } = await setup(t);
  await issue('acme/a', 5 * MINUTE);
  clock.now += 6 * MINUTE;
  await issue('acme/b', 2 * MINUTE);

  const afterFirst = revoker.size;
  clock.now += 2 * MINUTE;

  t.equal(afterFirst, 1, 'the first expired credential is gone');
  t.equal(revoker.size, 0, 'the one tracked after it expires on time too');
});

t.test('a failed revocation is tried again, until its token expires', async (t) => {
  const { clock, provider, revoker, issue, cause } = await setup(t);
  const widgets = await issue('acme/widgets', 30 * MINUTE);
  const gadgets = await issue('acme/gadgets', 60 * MINUTE);
  const working = provider.revoke.bind(provider);
  provider.revoke = async () => {
    throw new GitHubApiError('GitHub answered HTTP 503', { status: 503 });
  };

  t.match(
    await revoker.revokeAll(cause),
    {
      revoked: 0,
      unrevoked: [
        {
          repository: 'acme/widgets',
          installation: 7,
          tokenSha256: fingerprint(widgets.envelope.secret),
        },
        {
          repository: 'acme/gadgets',
          installation: 7,
          tokenSha256: fingerprint(gadgets.envelope.secret),
        },
      ],
    },
    'GitHub failed both',
  );
  t.equal(revoker.failedCount, 2);
  t.equal(revoker.size, 0, 'no longer tracked as live');
  t.ok(revoker.isRevoked(widgets.envelope), 'and never served again meanwhile');

  provider.revoke = working;
  clock.now += 30 * MINUTE; // widgets has expired: nothing left to revoke
  t.equal((await revoker.retryFailed(cause)).revoked, 1);
  t.same(provider.revoked, [gadgets.envelope.secret]);
  t.equal(revoker.failedCount, 0);
  t.same(
    await revoker.retryFailed(cause),
    { revoked: 0, unrevoked: [] },
    'each is retried until it worked, not after',
  );
});

t.test('a later revocation that chooses a failed one tries it again', async (t) => {
  const { provider, revoker, issue, cause } = await setup(t);
  const widgets = await issue('acme/widgets');
  const working = provider.revoke.bind(provider);
  provider.revoke = async () => {
    throw new GitHubApiError('GitHub answered HTTP 503', { status: 503 });
  };
  await revoker.revokeWhere((i) => i.scope.repository === 'acme/widgets', cause);
  provider.revoke = working;

  const again = await revoker.revokeWhere((i) => i.scope.repository === 'acme/widgets', cause);

  t.equal(again, 1);
  t.same(provider.revoked, [widgets.envelope.secret]);
});

t.test(
  'a revocation still unconfirmed when the signal aborts is failed with its reason',
  async (t) => {
    const { provider, revoker, issue, cause, auditLines } = await setup(t);
    const quick = await issue('acme/quick');
    const hanging = await issue('acme/hanging');
    const signals: AbortSignal[] = [];
    const working = provider.revoke.bind(provider);
    provider.revoke = (envelope, context) => {
      signals.push(context!.signal!);
      // A provider that ignores the signal: the wait must end all the same.
      if (envelope === hanging.envelope) return new Promise<RevokeOutcome>(() => undefined);
      return working(envelope);
    };
    const limit = new AbortController();
    const reason = new BrokerError('TIMEOUT', 'out of time for revocations');
    setTimeout(() => limit.abort(reason), 50);

    const summary = await revoker.revokeAll({ ...cause, reason: 'shutdown', signal: limit.signal });

    t.match(summary, {
      revoked: 1,
      unrevoked: [
        {
          repository: 'acme/hanging',
          installation: 7,
          tokenSha256: fingerprint(hanging.envelope.secret),
          expiresAt: new Date(hanging.envelope.expiresAtMs).toISOString(),
        },
      ],
    });
    t.equal(summary.unrevoked.length, 1);
    t.ok(
      signals.every((signal) => signal === limit.signal),
      'the provider was handed the signal',
    );
    t.same(provider.revoked, [quick.envelope.secret]);
    t.match(await auditLines(), [
      { event: 'token.revoked', repository: 'acme/quick', reason: 'shutdown' },
      {
        event: 'token.failed',
        repository: 'acme/hanging',
        reason: 'shutdown',
        tokenSha256: fingerprint(hanging.envelope.secret),
        error: { code: 'TIMEOUT', message: 'out of time for revocations' },
      },
    ]);
    t.ok(revoker.isRevoked(hanging.envelope), 'never served again');
  },
);

t.test('once the signal has aborted, no revocation is started', async (t) => {
  const { provider, revoker, issue, cause, auditLines } = await setup(t);
  await issue('acme/widgets');
  const limit = new AbortController();
  limit.abort(new BrokerError('TIMEOUT', 'no time left'));

  const summary = await revoker.revokeAll({ ...cause, signal: limit.signal });

  t.same(provider.revoked, []);
  t.match(summary, { revoked: 0, unrevoked: [{ repository: 'acme/widgets' }] });
  t.match(await auditLines(), [{ event: 'token.failed', error: { code: 'TIMEOUT' } }]);
});
