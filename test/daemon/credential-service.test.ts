import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import pino from 'pino';
import { AuditLog } from '../../daemon/audit-log.js';
import { CredentialService } from '../../daemon/credential-service.js';
import { HIT_FACTS_KEPT } from '../../daemon/hit-facts.js';
import type { RequestContext } from '../../daemon/provider.js';
import { ProviderRegistry } from '../../daemon/provider-registry.js';
import { TokenCache } from '../../daemon/token-cache.js';
import { TokenRevoker, type RevocationCause } from '../../daemon/token-revoker.js';
import { GitHubApiError, RequestDeniedError } from '../../shared/errors.js';
import { PROTOCOL_VERSION, type GetRequest } from '../../shared/protocol.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';
import { StubProvider, stubIntegrationConfig } from '../fixtures/stub-provider.js';

const MINUTE = 60_000;

async function setup(t: Test, clock = { now: 1_700_000_000_000 }) {
  const dir = t.testdir();
  const now = (): number => clock.now;
  const provider = new StubProvider(now);
  const config = stubIntegrationConfig();
  const auditPath = join(dir, 'audit.log');
  const audit = await AuditLog.open(auditPath);
  const service = new CredentialService({
    registry: new ProviderRegistry([{ config, provider }]),
    cache: new TokenCache({ now, log: pino({ level: 'silent' }) }),
    audit,
    now,
  });
  const context: RequestContext = {
    requestId: 'req-1',
    requester: { pid: 11, ppid: 10, cwd: '/work' },
    log: pino({ level: 'silent' }),
  };
  const request = (path = 'acme/widgets'): GetRequest => ({
    v: PROTOCOL_VERSION,
    op: 'get',
    target: { protocol: 'https', host: 'git.example', path },
    requester: { pid: 11, ppid: 10, cwd: '/work' },
  });
  const auditLines = async (): Promise<Record<string, unknown>[]> => {
    const text = await readFile(auditPath, 'utf8');
    return text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  const auditText = async (): Promise<string> => {
    return readFile(auditPath, 'utf8');
  };
  /** Another service, over `registry`, with this clock and audit log and a revoker of its own. */
  const serviceOver = (registry: ProviderRegistry) => {
    const revoker = new TokenRevoker({ audit, now });
    const cache = new TokenCache({ now, log: pino({ level: 'silent' }) });
    return { revoker, service: new CredentialService({ registry, cache, audit, revoker, now }) };
  };
  return {
    provider,
    service,
    serviceOver,
    context,
    request,
    auditLines,
    auditText,
    auditPath,
    clock,
    config,
  };
}

/** What an erase's revocation passes along, for tests that revoke directly. */
function eraseCause(requestId: string): RevocationCause {
  return {
    reason: 'erase',
    requestId,
    requester: { pid: 1, ppid: 0 },
    listener: null,
    log: pino({ level: 'silent' }),
  };
}

t.test('a get settles only once its audit line is in the file, served or refused', async (t) => {
  const { provider, service, context, request, auditPath } = await setup(t);
  // Read synchronously right after each get settles: no later turn of the
  // event loop may be what writes the line.
  const events = (): string[] =>
    readFileSync(auditPath, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { event: string }).event);

  await service.get(request(), context);
  t.same(events(), ['token.minted']);
  await service.get(request(), context);
  t.same(events(), ['token.minted', 'token.cache_hit']);
  provider.deny = 'not allowed';
  await t.rejects(service.get(request('acme/other'), context), { code: 'DENIED' });
  t.same(events(), ['token.minted', 'token.cache_hit', 'token.denied']);
  provider.deny = undefined;
  await service.erase(
    { v: PROTOCOL_VERSION, op: 'erase', target: request().target, requester: request().requester },
    context,
  );
  t.same(events().at(-1), 'token.erased');
});

t.test(
  'a miss mints once and the next request is a hit that does not call the provider',
  async (t) => {
    const { provider, service, context, request } = await setup(t);

    const first = await service.get(request(), context);
    const second = await service.get(request(), context);

    t.equal(provider.mints, 1);
    t.equal(first.cached, false);
    t.equal(second.cached, true);
    t.equal(second.secret, first.secret);
  },
);

t.test('a provider may resolve a scope synchronously, and deny synchronously', async (t) => {
  const { provider, service, context, request, auditLines } = await setup(t);
  provider.sync = true;
  const minted = await service.get(request(), context);
  const hit = await service.get(request(), context);
  const again = await service.get(request(), context);
  t.equal(minted.cached, false);
  t.equal(hit.cached, true);
  t.equal(hit.secret, minted.secret);
  t.equal(again, hit, 'hits on one token serve one credential object');
  t.ok(Object.isFrozen(hit), 'which nobody can change');

  provider.deny = 'not this one';
  await t.rejects(service.get(request('acme/other'), context), {
    code: 'DENIED',
    message: 'not this one',
  });
  t.same(
    (await auditLines()).map((line) => line.event),
    ['token.minted', 'token.cache_hit', 'token.cache_hit', 'token.denied'],
  );
  t.equal(provider.mints, 1);
});

t.test('what hits reuse is kept for the most recently hit tokens only', async (t) => {
  const { service, context, request } = await setup(t);
  const hitTwice = async (path: string) => {
    await service.get(request(path), context);
    const first = await service.get(request(path), context);
    return { first, again: await service.get(request(path), context) };
  };
  const { first } = await hitTwice('acme/first');
  for (let i = 0; i < HIT_FACTS_KEPT; i++) await hitTwice(`acme/other-${i}`);
  const later = await service.get(request('acme/first'), context);
  t.not(later, first, 'the oldest was let go once more tokens were hit');
  t.same(later, first, 'and is served the same, rebuilt');
  const { first: recent, again } = await hitTwice(`acme/other-${HIT_FACTS_KEPT - 1}`);
  t.equal(again, recent, 'a recently hit token still reuses its own');
});

t.test('two integrations on one App keep their own entries, lifetimes and erases', async (t) => {
  // Found in review: the cache key was the provider's alone, so a second
  // host on the same App got the first host's token (past its own TTL), and
  // an erase through it left that token served.
  const { provider, context, serviceOver } = await setup(t);
  const a = { ...stubIntegrationConfig(), name: 'a' };
  const b = { ...stubIntegrationConfig(), name: 'b', host: 'other.example' };
  const { service } = serviceOver(
    new ProviderRegistry([
      { config: a, provider },
      { config: b, provider },
    ]),
  );
  const on = (host: string): GetRequest => ({
    v: PROTOCOL_VERSION,
    op: 'get',
    target: { protocol: 'https', host, path: 'acme/widgets' },
    requester: { pid: 11, ppid: 10 },
  });
  const fromA = await service.get(on('git.example'), context);
  const fromB = await service.get(on('other.example'), context);
  t.equal(provider.mints, 2, 'each integration minted its own');
  t.not(fromB.secret, fromA.secret);

  const erased = await service.erase({ ...on('other.example'), op: 'erase' }, context);
  t.equal(erased, 1, "b's erase dropped b's entry");
  t.equal((await service.get(on('git.example'), context)).secret, fromA.secret, "a's stays");
  t.equal((await service.get(on('other.example'), context)).cached, false, 'b mints again');
});

t.test('a reload that renames an integration or changes its lifetimes starts afresh', async (t) => {
  const { provider, context, request, config, serviceOver } = await setup(t);
  const registry = new ProviderRegistry([{ config, provider }]);
  const { service } = serviceOver(registry);
  const first = await service.get(request(), context);
  registry.replaceAll([{ config: { ...config }, provider }]);
  t.equal((await service.get(request(), context)).secret, first.secret, 'same settings: a hit');
  for (const changed of [
    { ...config, name: 'renamed' },
    { ...config, name: 'renamed', cacheTtlSeconds: 60 },
    { ...config, name: 'renamed', cacheTtlSeconds: 60, minTokenLifeSeconds: 20 * 60 },
    // Found in review: a command provider's changed command kept its tokens.
    {
      ...config,
      name: 'renamed',
      cacheTtlSeconds: 60,
      minTokenLifeSeconds: 20 * 60,
      options: { command: ['other'] },
    },
  ]) {
    registry.replaceAll([{ config: changed, provider }]);
    const after = await service.get(request(), context);
    t.equal(after.cached, false, JSON.stringify(changed));
  }
  t.equal(provider.mints, 5);
});

t.test(
  'after a rename, status lists only what can be served, and the rest can be dropped',
  async (t) => {
    // Found in review: status listed the tokens cached under the old name.
    const { provider, context, request, config, serviceOver } = await setup(t);
    const registry = new ProviderRegistry([{ config, provider }]);
    const { service } = serviceOver(registry);
    await service.get(request('acme/widgets'), context);
    await service.get(request('acme/gadgets'), context);
    registry.replaceAll([{ config: { ...config, name: 'renamed' }, provider }]);
    await service.get(request('acme/widgets'), context);

    const listed = await service.cacheStatus();
    t.same(
      listed.map(({ integration, repository }) => `${integration} ${repository}`),
      ['renamed acme/widgets'],
      "the old name's entries are not listed",
    );
    t.equal(await service.dropUnreachable(), 2, "the old name's two entries are dropped");
    t.equal(await service.dropUnreachable(), 0, 'and only those');
    t.same(await service.cacheStatus(), listed, 'what can be served stays');
    t.equal((await service.get(request('acme/widgets'), context)).cached, true, 'still a hit');
  },
);

t.test(
  'a mint that ends after a reload retired its integration is served, not cached',
  async (t) => {
    // Found in review: such an entry was cached where nothing could reach it.
    const { provider, context, request, config, serviceOver } = await setup(t);
    const registry = new ProviderRegistry([{ config, provider }]);
    const { service } = serviceOver(registry);
    provider.delayMs = 50;

    const minting = service.get(request(), context);
    await new Promise((resolve) => setTimeout(resolve, 10));
    registry.replaceAll([{ config: { ...config, name: 'renamed' }, provider }]);
    const served = await minting;

    t.equal(served.cached, false, 'the request that waited is served');
    t.equal(await service.dropUnreachable(), 0, 'nothing unreachable was cached');
    provider.delayMs = 0;
    t.equal((await service.get(request(), context)).cached, false, 'the new name mints its own');
    t.equal((await service.get(request(), context)).cached, true, 'and caches it');
  },
);

t.test('a revoked token is never served from the cache, nor as a fallback', async (t) => {
  // Found in review: an erase whose revocation picked up a token that a
  // racing mint cached after the erase's own pass over the cache left that
  // revoked token served until it went stale.
  const { provider, context, request, clock, config, serviceOver } = await setup(t);
  const { service, revoker } = serviceOver(new ProviderRegistry([{ config, provider }]));
  const first = await service.get(request(), context);
  // What the erase's revocation does, without the erase's pass over the cache.
  await revoker.revokeWhere(() => true, eraseCause('r'));
  const second = await service.get(request(), context);
  t.equal(second.cached, false, 'minted anew');
  t.not(second.secret, first.secret);

  await revoker.revokeWhere(() => true, eraseCause('r2'));
  clock.now += 52 * MINUTE; // stale: only a fallback could serve it now
  provider.fail = new GitHubApiError('GitHub answered HTTP 503 while minting', { status: 503 });
  await t.rejects(service.get(request(), context), { code: 'GITHUB_API' }, 'no revoked fallback');
});

t.test('an erase after a rename also drops the tokens cached under the old name', async (t) => {
  const { provider, context, request, config, serviceOver } = await setup(t);
  const registry = new ProviderRegistry([{ config, provider }]);
  const { service } = serviceOver(registry);
  const first = await service.get(request(), context);
  registry.replaceAll([{ config: { ...config, name: 'renamed' }, provider }]);
  const second = await service.get(request(), context);
  t.not(second.secret, first.secret);
  const erase = { ...request(), op: 'erase' as const };
  t.equal(await service.erase(erase, context), 2, "the old name's entry, and the new one's");
  registry.replaceAll([{ config, provider }]);
  const back = await service.get(request(), context);
  t.equal(back.cached, false, 'renamed back: nothing erased comes back');
});

t.test('a token an erase revokes while it is minted is not handed out', async (t) => {
  // Found in review: the request that minted it, and those sharing the
  // mint, were served the token the erase was revoking.
  const { provider, context, request, config, serviceOver } = await setup(t);
  const { service, revoker } = serviceOver(new ProviderRegistry([{ config, provider }]));
  // The erase lands right after the first token is recorded as issued.
  const track = revoker.track.bind(revoker);
  let erased = false;
  revoker.track = (issued) => {
    track(issued);
    if (erased) return;
    erased = true;
    void revoker.revokeWhere(() => true, eraseCause('e'));
  };
  const [one, two] = await Promise.all([
    service.get(request(), context),
    service.get(request(), context),
  ]);
  t.equal(provider.mints, 2, 'minted once more');
  t.not(one.secret, provider.secrets[0], 'the revoked token went to no one');
  t.equal(two.secret, one.secret);
  t.equal((await service.get(request(), context)).secret, one.secret, 'and the new one is cached');
});

t.test('different repositories and permissions get different credentials', async (t) => {
  const { provider, service, context, request } = await setup(t);

  await service.get(request('acme/widgets'), context);
  await service.get(request('acme/gadgets'), context);
  await service.get({ ...request('acme/widgets'), permissions: { contents: 'read' } }, context);

  t.equal(provider.mints, 3);
});

t.test('mints again once the cached credential has less than its minimum life left', async (t) => {
  const { provider, service, context, request, clock } = await setup(t);
  await service.get(request(), context);

  clock.now += 44 * MINUTE;
  await service.get(request(), context);
  const mintsBeforeMargin = provider.mints;
  clock.now += 6 * MINUTE;
  const late = await service.get(request(), context);

  t.equal(mintsBeforeMargin, 1, 'still a hit 44 minutes in, before the refresh window');
  t.equal(provider.mints, 2, 'a fresh mint 50 minutes in (60 minute token, 10 minute margin)');
  t.equal(late.cached, false);
  t.ok(late.expiresAtMs - clock.now >= 10 * MINUTE, 'the token handed out has its minimum life');
});

t.test('concurrent misses for one scope cause exactly one mint', async (t) => {
  const { provider, service, context, request } = await setup(t);
  provider.delayMs = 30;

  const results = await Promise.all(
    Array.from({ length: 20 }, () => service.get(request(), context)),
  );

  t.equal(provider.mints, 1);
  t.equal(new Set(results.map((r) => r.secret)).size, 1);
});

t.test(
  'audits minted and served-from-cache as distinct events with metadata and a fingerprint',
  async (t) => {
    const { provider, service, context, request, auditLines } = await setup(t);

    await service.get(request(), context);
    await service.get(request(), context);
    const lines = await auditLines();

    t.same(
      lines.map((line) => line.event),
      ['token.minted', 'token.cache_hit'],
    );
    for (const line of lines) {
      t.match(line, {
        integration: 'stub-int',
        provider: 'stub',
        repository: 'acme/widgets',
        installation: 7,
        target: 'https://git.example/acme/widgets',
        requester: { pid: 11, ppid: 10 },
        tokenSha256: /^sha256:[0-9a-f]{64}$/,
        expiresAt: /^\d{4}-\d\d-\d\dT/,
      });
      t.type(line.durationMs, 'number');
      t.type(line.time, 'string');
    }
    t.equal(provider.secrets.length, 1);
  },
);

t.test('a denial is audited as denied and a host nobody serves is not audited', async (t) => {
  const { provider, service, context, request, auditLines } = await setup(t);
  provider.deny = 'not allowed';

  await t.rejects(service.get(request(), context), { code: 'DENIED' });
  await t.rejects(
    service.get(
      { ...request(), target: { protocol: 'https', host: 'elsewhere.example', path: 'a/b' } },
      context,
    ),
    { code: 'NO_INTEGRATION' },
  );
  const lines = await auditLines();

  t.same(
    lines.map((line) => line.event),
    ['token.denied'],
  );
  t.match(lines[0], { error: { code: 'DENIED', message: 'not allowed' } });
  t.match(
    service.counters,
    { denied: 1, errors: 0 },
    'a denial is counted as denied, not as an error; an unserved host as neither',
  );
});

t.test('plain http is refused for a host that is not loopback', async (t) => {
  const { provider, service, context, request } = await setup(t);

  await t.rejects(
    service.get(
      { ...request(), target: { protocol: 'http', host: 'git.example', path: 'a/b' } },
      context,
    ),
    {
      code: 'DENIED',
      message: /plain http/,
    },
  );
  t.equal(provider.resolves, 0, 'the provider is not asked');
});

t.test('erase drops the entry holding the password git sends, and only that one', async (t) => {
  const { provider, service, context, request } = await setup(t);
  const first = await service.get(request(), context);
  const base = {
    v: PROTOCOL_VERSION,
    op: 'erase' as const,
    target: request().target,
    requester: request().requester,
  };

  const wrong = await service.erase({ ...base, password: 'not-the-token' }, context);
  const stillCached = await service.get(request(), context);
  const right = await service.erase({ ...base, password: first.secret }, context);
  const after = await service.get(request(), context);

  t.equal(wrong, 0);
  t.equal(stillCached.cached, true);
  t.equal(right, 1);
  t.equal(after.cached, false);
  t.equal(provider.mints, 2);
});

t.test('no secret ever appears in the audit log', async (t) => {
  const { provider, service, context, request, auditText } = await setup(t);

  await service.get(request(), context);
  await service.get(request(), context);
  const first = provider.secrets[0]!;
  await service.erase(
    {
      v: PROTOCOL_VERSION,
      op: 'erase',
      target: request().target,
      requester: request().requester,
      password: first,
    },
    context,
  );
  await service.get(request(), context);

  t.equal(provider.secrets.length, 2);
  assertNoSecrets(t, { audit: await auditText() }, provider.secrets);
});

t.test('a credential a provider got wrong fails that request and is never cached', async (t) => {
  const { provider, service, context, request } = await setup(t);
  provider.lifetimeMs = -1000;

  await t.rejects(service.get(request(), context), {
    code: 'PROVIDER',
    message: /expiry that is invalid or already past/,
  });
  // An expiry in microseconds (or past what Date can hold) is as wrong.
  provider.lifetimeMs = 1_760_000_000_000_000;
  await t.rejects(service.get(request(), context), {
    code: 'PROVIDER',
    message: /expiry more than a year away/,
  });
  provider.lifetimeMs = 60 * 60 * 1000;
  const next = await service.get(request(), context);

  t.equal(next.cached, false, 'the next request mints afresh');
  t.equal(provider.mints, 3);
});

t.test('an erase with a password the daemon never issued records no fingerprint', async (t) => {
  const { service, context, request, auditLines } = await setup(t);
  await service.get(request(), context);

  await service.erase(
    {
      v: PROTOCOL_VERSION,
      op: 'erase',
      target: request().target,
      requester: request().requester,
      password: 'hunter2secret',
    },
    context,
  );
  const erased = (await auditLines()).find((line) => line.event === 'token.erased');

  t.match(erased, { erased: 0, tokenSha256: null });
});

t.test(
  'refreshes a token in the background shortly before it goes stale, so a hit stays a hit',
  async (t) => {
    const { provider, service, context, request, clock, auditLines } = await setup(t);
    const first = await service.get(request(), context);

    clock.now += 46 * MINUTE;
    const during = await service.get(request(), context);
    await service.drain();
    clock.now += 5 * MINUTE;
    const after = await service.get(request(), context);

    t.equal(during.secret, first.secret, 'the old token is served while the new one is minted');
    t.equal(during.cached, true);
    t.equal(provider.mints, 2, 'one refresh');
    t.equal(after.cached, true, 'past the old token stale time it is still a hit');
    t.equal(after.secret, provider.secrets[1]);
    t.same(
      (await auditLines()).map((line) => [line.event, line.refreshedAhead]),
      [
        ['token.minted', undefined],
        ['token.cache_hit', undefined],
        ['token.minted', true],
        ['token.cache_hit', undefined],
      ],
    );
  },
);

t.test('a failed refresh keeps serving the cached token until it goes stale', async (t) => {
  const { provider, service, context, request, clock } = await setup(t);
  const first = await service.get(request(), context);
  provider.fail = new GitHubApiError('GitHub answered HTTP 502 while minting', { status: 502 });

  clock.now += 46 * MINUTE;
  const during = await service.get(request(), context);
  await service.drain();

  t.equal(during.secret, first.secret);
  t.equal(provider.mints, 2, 'the refresh was tried');
});

t.test(
  'serves a stale token that still has life left when GitHub fails, and audits a fallback',
  async (t) => {
    const { provider, service, context, request, clock, auditLines } = await setup(t);
    const first = await service.get(request(), context);
    provider.fail = new GitHubApiError('GitHub answered HTTP 503 while minting', { status: 503 });

    clock.now += 52 * MINUTE;
    const served = await service.get(request(), context);

    t.equal(served.secret, first.secret);
    t.equal(served.cached, true);
    const last = (await auditLines()).at(-1);
    t.match(last, {
      event: 'token.fallback',
      repository: 'acme/widgets',
      tokenSha256: /^sha256:/,
      error: { code: 'GITHUB_API', message: /503/ },
    });
  },
);

t.test('does not fall back when GitHub refuses for good', async (t) => {
  const { provider, service, context, request, clock } = await setup(t);
  await service.get(request(), context);
  clock.now += 52 * MINUTE;

  provider.fail = new RequestDeniedError('installation suspended');
  await t.rejects(service.get(request(), context), { code: 'DENIED' });
  provider.fail = new GitHubApiError('GitHub answered HTTP 404', { status: 404, quit: true });
  await t.rejects(service.get(request(), context), { code: 'GITHUB_API' });
});

t.test('does not fall back to a token with less than a minute of life left', async (t) => {
  const { provider, service, context, request, clock } = await setup(t);
  await service.get(request(), context);
  provider.fail = new GitHubApiError('GitHub did not answer');

  clock.now += 59 * MINUTE + 1;

  await t.rejects(service.get(request(), context), { code: 'GITHUB_API' });
});

t.test('after a failed refresh, hits do not retry it until the backoff has passed', async (t) => {
  const { provider, service, context, request, clock } = await setup(t);
  await service.get(request(), context);
  provider.fail = new GitHubApiError('GitHub answered HTTP 422', { status: 422 });
  clock.now += 46 * MINUTE;

  for (let i = 0; i < 20; i++) {
    await service.get(request(), context);
    await service.drain();
  }
  const duringBackoff = provider.mints;
  clock.now += 31_000;
  await service.get(request(), context);
  await service.drain();

  t.equal(duringBackoff, 2, 'twenty hits, one refresh attempt');
  t.equal(provider.mints, 3, 'tried again once the backoff passed');
});

t.test(
  'a socket with a ceiling never erases a credential cached without permissions',
  async (t) => {
    const { service, context, request } = await setup(t);
    const unrestricted = await service.get({ ...request(), permissions: {} }, context);
    const readOnly = {
      ...context,
      policy: { name: 'ro', permissions: { contents: 'read' as const } },
    };

    const erased = await service.erase(
      {
        v: PROTOCOL_VERSION,
        op: 'erase',
        target: request().target,
        requester: request().requester,
      },
      readOnly,
    );
    const again = await service.get({ ...request(), permissions: {} }, context);

    t.equal(erased, 0);
    t.equal(again.secret, unrestricted.secret, 'still cached');
  },
);

/** A service over the stub integration with the audit log given. */
function serviceWithAudit(audit: AuditLog) {
  const now = (): number => 1_700_000_000_000;
  const provider = new StubProvider(now);
  const log = pino({ level: 'silent' });
  const service = new CredentialService({
    registry: new ProviderRegistry([{ config: stubIntegrationConfig(), provider }]),
    cache: new TokenCache({ now, log }),
    audit,
    now,
  });
  const context: RequestContext = { requestId: 'r', requester: { pid: 1, ppid: 0 }, log };
  const request: GetRequest = {
    v: PROTOCOL_VERSION,
    op: 'get',
    target: { protocol: 'https', host: 'git.example', path: 'acme/widgets' },
    requester: { pid: 1, ppid: 0 },
  };
  return { provider, service, context, request };
}

t.test('no credential is served while the audit log cannot be written', async (t) => {
  // /dev/full fails every write with ENOSPC: the disk under the log is full.
  const reports: string[] = [];
  const { provider, service, context, request } = serviceWithAudit(
    await AuditLog.open('/dev/full', (text) => reports.push(text)),
  );

  // A miss (the mint happens, but its token is not handed out) and a hit.
  await t.rejects(service.get(request, context), {
    code: 'AUDIT',
    quit: true,
    message: /audit log cannot be written/,
    hint: /free space or fix "auditLog"/,
  });
  t.equal(provider.mints, 1);
  await t.rejects(service.get(request, context), { code: 'AUDIT' });
  await t.rejects(
    service.get({ ...request, target: { ...request.target, path: 'acme/other' } }, context),
    {
      code: 'AUDIT',
    },
  );
  t.equal(provider.mints, 1, 'once writing is known to fail, nothing more is minted');
  t.equal(service.counters.errors, 3);

  // Erasing takes access away: it still works.
  const erased = await service.erase(
    { v: PROTOCOL_VERSION, op: 'erase', target: request.target, requester: request.requester },
    context,
  );
  t.equal(erased, 0, 'erase still answers; the unrecorded token was already dropped');
  t.equal(reports.length, 1, 'the operator is told once, not once per request');
});

t.test('a hit refused because its audit line failed counts as an error, not a hit', async (t) => {
  // Found by a new user's trial: five gets, two refused, showed three hits.
  const audit = {
    fail: false,
    failing: false,
    record(): Promise<boolean> {
      this.failing = this.fail;
      return Promise.resolve(!this.fail);
    },
    reopen(): void {},
  };
  const { service, context, request } = serviceWithAudit(audit as unknown as AuditLog);

  await service.get(request, context);
  await service.get(request, context);
  audit.fail = true;
  await t.rejects(service.get(request, context), { code: 'AUDIT' });
  t.match(service.counters, { hits: 1, misses: 1, mints: 1, errors: 1 });
});

t.test(
  'a token whose mint could not be recorded is never served, even after recovery',
  async (t) => {
    // An audit log whose writes fail until told otherwise (a disk that fills
    // and is then cleared), recording which events it wrote.
    const audit = {
      fail: true,
      failing: false,
      events: [] as string[],
      record(event: string): Promise<boolean> {
        this.failing = this.fail;
        if (!this.fail) this.events.push(event);
        return Promise.resolve(!this.fail);
      },
      reopen(): void {},
    };
    const { provider, service, context, request } = serviceWithAudit(audit as unknown as AuditLog);

    await t.rejects(service.get(request, context), { code: 'AUDIT' });
    t.equal(provider.mints, 1);
    t.same(await service.cacheStatus(), [], 'the unrecorded token is not kept');

    audit.fail = false;
    // The first request finds out that writing works again (and is refused).
    await t.rejects(service.get(request, context), { code: 'AUDIT' });
    const served = await service.get(request, context);

    t.equal(served.cached, false, 'a new token, minted and recorded');
    t.equal(provider.mints, 2);
    t.same(audit.events, ['token.failed', 'token.minted']);
    t.not(served.secret, provider.secrets[0], 'never the unrecorded one');
  },
);
