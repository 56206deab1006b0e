import pino from 'pino';
import t from 'tap';
import { MintLimiter } from '../../daemon/mint-limit.js';
import type { RequestContext } from '../../daemon/provider.js';

const request = (): RequestContext => ({
  requestId: 'r',
  requester: { pid: 1, ppid: 1, uid: 1, cwd: '/' },
  log: pino({ level: 'silent' }),
});

t.test('a burst of up to the limit passes, the next is refused with when to retry', async (t) => {
  let nowMs = 1_000_000;
  const limiter = new MintLimiter('/run/ci.sock', 3, () => nowMs);

  for (let i = 0; i < 3; i++) t.doesNotThrow(() => limiter.spend(request()), `mint ${i + 1}`);

  t.throws(() => limiter.spend(request()), {
    code: 'DENIED',
    reason: 'mint_limit',
    retryAfterSeconds: 20,
    message:
      'socket \'/run/ci.sock\' allows at most 3 requests a minute that mint a token ("maxMintsPerMinute"), and this one would be over it; retry in 20 s (tokens already cached are still served), or raise that listener\'s "maxMintsPerMinute" in the broker config',
  });
  t.equal(limiter.refused, 1);
  nowMs += 19_000;
  t.throws(
    () => limiter.spend(request()),
    { code: 'DENIED', retryAfterSeconds: 1 },
    'one second short',
  );
  nowMs += 1_000;
  t.doesNotThrow(() => limiter.spend(request()), 'one more after 60 s / 3');
  t.equal(limiter.refused, 2);
});

t.test('a request is charged once, however many calls it makes', async (t) => {
  const limiter = new MintLimiter('/run/ci.sock', 1, () => 0);
  const lookupThenMint = request();

  limiter.spend(lookupThenMint);
  limiter.spend(lookupThenMint);

  t.throws(() => limiter.spend(request()), { code: 'DENIED' }, 'the next request is over');
});

t.test('an idle socket refills to its limit and no further', async (t) => {
  let nowMs = 0;
  const limiter = new MintLimiter('/run/ci.sock', 2, () => nowMs);
  limiter.spend(request());
  limiter.spend(request());

  nowMs += 10 * 60_000;

  t.doesNotThrow(() => limiter.spend(request()));
  t.doesNotThrow(() => limiter.spend(request()));
  t.throws(() => limiter.spend(request()), { code: 'DENIED' });
});

t.test('a limit of one says "request", not "requests"', async (t) => {
  const limiter = new MintLimiter('/run/ci.sock', 1, () => 0);
  limiter.spend(request());

  t.throws(() => limiter.spend(request()), {
    message: /allows at most 1 request a minute that mints a token/,
  });
});
