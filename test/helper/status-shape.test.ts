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
