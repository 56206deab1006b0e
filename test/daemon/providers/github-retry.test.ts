/**
 * The retry policy on its own, with a scripted fetch: which answers are
 * retried, how long it waits, and that it stops.
 */
import t from 'tap';
import pino from 'pino';
import { GitHubClock } from '../../../daemon/providers/github-clock.js';
import {
  createRetryingFetch,
  DEFAULT_RETRY_POLICY,
  retryDelayMs,
} from '../../../daemon/providers/github-retry.js';

const POLICY = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 1000 };
const NOW = Date.parse('2030-01-01T00:00:00Z');

function answer(status: number, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : '{}', { status, headers });
}

function scripted(steps: Array<Response | Error>) {
  const calls: string[] = [];
  const fetchFn = async (url: string): Promise<Response> => {
    calls.push(url);
    const step = steps.shift();
    if (step === undefined) throw new Error('no more scripted answers');
    if (step instanceof Error) throw step;
    return step;
  };
  const retrying = createRetryingFetch(
    { clock: new GitHubClock(), log: pino({ level: 'silent' }), random: () => 0.5 },
    POLICY,
    fetchFn,
  );
  return { calls, retrying };
}

t.test('retries a 5xx and a connection error, then returns the answer', async (t) => {
  const { calls, retrying } = scripted([answer(502), new TypeError('fetch failed'), answer(201)]);

  const response = await retrying('http://127.0.0.1/x', { method: 'POST', body: '{}' });

  t.equal(response.status, 201);
  t.equal(calls.length, 3);
});

t.test('stops after the last attempt and hands back the last answer', async (t) => {
  const { calls, retrying } = scripted(Array.from({ length: 10 }, () => answer(503)));

  const response = await retrying('http://127.0.0.1/x', {});

  t.equal(response.status, 503);
  t.equal(calls.length, POLICY.maxAttempts);
});

t.test('does not retry a 4xx that will not change', async (t) => {
  for (const status of [400, 401, 403, 404, 422]) {
    const { calls, retrying } = scripted([answer(status), answer(201)]);

    const response = await retrying('http://127.0.0.1/x', {});

    t.equal(response.status, status);
    t.equal(calls.length, 1, `${status} is not retried`);
  }
});

t.test('waits what retry-after says, else until x-ratelimit-reset', async (t) => {
  const pinned = () => 0;

  t.equal(retryDelayMs(answer(429, { 'retry-after': '3' }), 0, POLICY, NOW, pinned), 3000);
  t.equal(
    retryDelayMs(
      answer(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 + 7) }),
      0,
      POLICY,
      NOW,
      pinned,
    ),
    7000,
  );
  t.equal(
    retryDelayMs(answer(403, { 'x-ratelimit-remaining': '12' }), 0, POLICY, NOW, pinned),
    undefined,
    'a 403 that is not a rate limit is final',
  );
});

t.test('backs off with jitter that grows with each retry, up to a cap', async (t) => {
  const top = () => 0.999;

  const first = retryDelayMs(answer(500), 0, POLICY, NOW, top)!;
  const third = retryDelayMs(answer(500), 2, POLICY, NOW, top)!;
  const late = retryDelayMs(answer(500), 30, POLICY, NOW, top)!;

  t.ok(first < third, 'grows');
  t.ok(late <= POLICY.maxDelayMs, 'capped');
  t.equal(
    retryDelayMs(answer(500), 2, POLICY, NOW, () => 0),
    0,
    'full jitter reaches zero',
  );
});

t.test('does not wait out a rate limit longer than the cap', async (t) => {
  const { calls, retrying } = scripted([answer(429, { 'retry-after': '3600' }), answer(201)]);

  const response = await retrying('http://127.0.0.1/x', {});

  t.equal(response.status, 429);
  t.equal(calls.length, 1);
});

t.test('learns GitHub clock offset from the Date header', async (t) => {
  const clock = new GitHubClock(() => NOW);
  const retrying = createRetryingFetch(
    { clock, log: pino({ level: 'silent' }) },
    POLICY,
    async () => answer(200, { date: new Date(NOW + 3_600_000).toUTCString() }),
  );

  await retrying('http://127.0.0.1/x', {});

  t.equal(clock.offsetMs, 3_600_000);
  t.equal(clock.toLocalMs(NOW + 7_200_000), NOW + 3_600_000);
});
