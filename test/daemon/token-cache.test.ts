import t from 'tap';
import pino from 'pino';
import {
  fingerprint,
  refreshAtMs,
  staleAtMs,
  TokenCache,
  type CachedCredential,
} from '../../daemon/token-cache.js';

const HOUR = 60 * 60 * 1000;
const MINUTE = 60 * 1000;

function entry(stale: number): CachedCredential {
  return {
    integration: 'github',
    scope: {
      cacheKey: 'k',
      repository: 'acme/widgets',
      permissions: { contents: 'read' },
      metadata: {},
    },
    envelope: {
      secret: 'ghs_example',
      username: 'x-access-token',
      expiresAtMs: stale + 10 * MINUTE,
      granted: { repositories: ['acme/widgets'], permissions: { contents: 'read' } },
      metadata: {},
    },
    staleAtMs: stale,
  };
}

t.test('a credential goes stale at its TTL when the TTL ends first', async (t) => {
  t.equal(
    staleAtMs({ nowMs: 0, expiresAtMs: HOUR, ttlMs: 20 * MINUTE, minLifeMs: 10 * MINUTE }),
    20 * MINUTE,
  );
});

t.test(
  'a credential goes stale its minimum life before it expires, whatever the TTL',
  async (t) => {
    t.equal(
      staleAtMs({ nowMs: 0, expiresAtMs: HOUR, ttlMs: 2 * HOUR, minLifeMs: 10 * MINUTE }),
      50 * MINUTE,
    );
  },
);

t.test('serves an entry until its stale time under a fake clock, then stops', async (t) => {
  let now = 1_000_000;
  const cache = new TokenCache({ now: () => now, log: pino({ level: 'silent' }) });
  await cache.set('k', entry(now + 30 * MINUTE));

  now += 30 * MINUTE - 1;
  const before = await cache.get('k');
  now += 1;
  const after = await cache.get('k');

  t.equal(before?.envelope.secret, 'ghs_example');
  t.equal(after, undefined);
});

t.test('getNow answers at once what get answers, and drops an expired entry at once', async (t) => {
  let now = 1_000_000;
  const cache = new TokenCache({ now: () => now, log: pino({ level: 'silent' }) });
  const stored = entry(now + 30 * MINUTE);
  await cache.set('k', stored);

  // Not a promise: the hit path reads keyv's in-memory entry directly, so a
  // keyv that stored entries in another shape fails here.
  const fresh = cache.getNow('k');
  t.equal(fresh, stored, 'the very entry set, not a copy or a wrapper');
  t.equal(await cache.get('k'), fresh);
  t.equal(cache.getNow('missing'), undefined);

  now += 30 * MINUTE;
  t.equal(cache.getNow('k'), undefined, 'stale: not served');
  t.equal(cache.size, 1, 'a stale entry stays, as a fallback');

  now += 10 * MINUTE;
  t.equal(cache.getNow('k'), undefined, 'expired');
  t.equal(cache.size, 0, 'and deleted before getNow returned');
});

t.test(
  'keeps a stale entry as a fallback while its credential has life left, then drops it',
  async (t) => {
    let now = 1_000_000;
    const cache = new TokenCache({ now: () => now, log: pino({ level: 'silent' }) });
    await cache.set('k', entry(now + 30 * MINUTE));

    now += 35 * MINUTE;
    const stale = await cache.getFallback('k', MINUTE);
    const tooShort = await cache.getFallback('k', 6 * MINUTE);
    now += 5 * MINUTE;
    const expired = await cache.getFallback('k', 0);

    t.equal(stale?.envelope.secret, 'ghs_example', 'five minutes of life left is served');
    t.equal(tooShort, undefined, 'not when less life is left than asked for');
    t.equal(expired, undefined);
    t.equal(cache.size, 0, 'the expired entry is gone, not only hidden');
  },
);

t.test('starts refreshing five minutes before an entry goes stale, or half-way', async (t) => {
  t.equal(refreshAtMs(0, 50 * MINUTE), 45 * MINUTE);
  t.equal(refreshAtMs(0, 4 * MINUTE), 2 * MINUTE);
});

t.test('does not store an entry that is already stale', async (t) => {
  const now = 5_000;
  const cache = new TokenCache({ now: () => now, log: pino({ level: 'silent' }) });

  const stored = await cache.set('k', entry(now));

  t.equal(stored, false);
  t.equal(await cache.get('k'), undefined);
});

t.test('deletes only the entries a predicate accepts', async (t) => {
  const cache = new TokenCache({ log: pino({ level: 'silent' }) });
  const keep = entry(Date.now() + HOUR);
  const drop = { ...entry(Date.now() + HOUR), integration: 'other' };
  await cache.set('keep', keep);
  await cache.set('drop', drop);

  const deleted = await cache.deleteWhere((e) => e.integration === 'other');

  t.equal(deleted.length, 1);
  t.ok(await cache.get('keep'));
  t.equal(await cache.get('drop'), undefined);
});

t.test('lists every fresh entry for status, and counts what it stores', async (t) => {
  let now = 1_000_000;
  const cache = new TokenCache({ now: () => now, log: pino({ level: 'silent' }) });
  await cache.set('soon', entry(now + 10 * MINUTE));
  await cache.set('later', entry(now + 40 * MINUTE));
  await cache.set('gone', entry(now));

  const sizeBefore = cache.size;
  now += 20 * MINUTE;
  const listed = await cache.entries();

  t.equal(sizeBefore, 2, 'an entry stale on arrival is not stored');
  t.same(
    listed.map((e) => e.staleAtMs),
    [1_000_000 + 40 * MINUTE],
    'the stale entry is not listed',
  );
});

t.test('fingerprints a secret with SHA-256 and never echoes it', async (t) => {
  const print = fingerprint('ghs_secret_value');

  t.match(print, /^sha256:[0-9a-f]{64}$/);
  t.notMatch(print, /ghs_secret_value/);
  t.equal(print, fingerprint('ghs_secret_value'), 'stable for the same secret');
});
