import t from 'tap';
import { statusShapeProblem } from '../../helper/commands/status-shape.js';

const STATUS = {
  version: '0.1.0',
  pid: 4242,
  startedAtMs: 1,
  socket: '/run/d.sock',
  config: '/etc/broker.json',
  auditLog: '/var/log/audit.log',
  integrations: [{ name: 'gh', provider: 'github-app', host: 'github.com' }],
  cache: [],
  counters: { hits: 0, misses: 0, mints: 0, denied: 0, errors: 0 },
};

t.test('takes a status with what status prints, and fields a later release adds', async (t) => {
  t.equal(statusShapeProblem(STATUS), undefined);
  t.equal(statusShapeProblem({ ...STATUS, later: { x: 1 }, listeners: [] }), undefined);
});

t.test('names every field that is missing or of another type', async (t) => {
  const withoutCounters: Record<string, unknown> = { ...STATUS };
  delete withoutCounters.counters;

  t.equal(
    statusShapeProblem({ ...withoutCounters, pid: '4242', cache: [{ repository: 1 }] }),
    'pid, counters, cache not as this release reads them',
  );
  t.equal(
    statusShapeProblem({ ...STATUS, lastReload: { ok: true } }),
    'lastReload not as this release reads them',
  );
  t.equal(statusShapeProblem([STATUS]), 'not an object');
});

t.test('takes no cache time far beyond what a daemon of this release sends', async (t) => {
  // Found in review: an expiresAtMs of 1e300 printed as a count of hours.
  const entry = {
    integration: 'gh',
    repository: 'acme/widgets',
    permissions: { contents: 'read' },
    expiresAtMs: Date.now() + 3_600_000,
    staleAtMs: Date.now() + 1_800_000,
  };

  t.equal(statusShapeProblem({ ...STATUS, cache: [entry] }), undefined);
  t.equal(
    statusShapeProblem({ ...STATUS, cache: [{ ...entry, expiresAtMs: 1e300 }] }),
    'cache not as this release reads them',
  );
  t.equal(
    statusShapeProblem({ ...STATUS, cache: [{ ...entry, staleAtMs: 8.64e15 }] }),
    'cache not as this release reads them',
  );
});
