/**
 * The idle compactor: it gives memory back once a burst is over, only when
 * the daemon is idle and its heap has grown, and never stops the daemon.
 */
import { getHeapStatistics } from 'node:v8';
import t from 'tap';
import pino from 'pino';
import { compactHeap, IdleCompactor } from '../../daemon/heap-tuning.js';

const MB = 2 ** 20;

function world(options: { failCompact?: boolean } = {}) {
  const state = { activity: 0, heap: 100 * MB, compactions: 0, lines: [] as string[] };
  const log = pino({ level: 'info' }, { write: (line: string) => void state.lines.push(line) });
  const compactor = new IdleCompactor({
    activity: () => state.activity,
    log,
    minGrowthBytes: 16 * MB,
    heapBytes: () => state.heap,
    compact: async () => {
      if (options.failCompact) throw new Error('inspector is not available');
      state.compactions++;
      state.heap = 110 * MB;
    },
  });
  return { state, compactor };
}

t.test('compacts once the daemon is idle after its heap grew, and not again', async (t) => {
  const { state, compactor } = world();
  state.heap = 110 * MB;
  t.equal(await compactor.check(), false, 'grown by less than the threshold');
  state.heap = 160 * MB;
  state.activity = 5;
  t.equal(await compactor.check(), false, 'requests came in since the last look');
  t.equal(await compactor.check(), true, 'idle since the last look');
  t.equal(state.compactions, 1);
  t.equal(await compactor.check(), false, 'the heap it left is the new baseline');
  state.heap = 140 * MB;
  t.equal(await compactor.check(), true, 'grown again by the threshold since');
  t.equal(state.compactions, 2);
  const line = JSON.parse(state.lines.at(-1)!) as Record<string, unknown>;
  t.equal(line.msg, 'gave memory back after a burst of requests');
  t.equal(line.heapMb, 140);
  t.equal(line.nowMb, 110);
});

t.test('a compaction that cannot run is reported once and not tried again', async (t) => {
  const { state, compactor } = world({ failCompact: true });
  state.heap = 200 * MB;
  t.equal(await compactor.check(), false);
  t.equal(await compactor.check(), false);
  t.equal(state.lines.length, 1);
  t.match(state.lines[0], /cannot compact the heap after bursts/);
});

t.test('compactHeap gives back the heap that garbage grew', async (t) => {
  // Grow the old generation: objects kept alive across a few turns are
  // promoted, then dropped.
  const holder = { kept: [] as number[][] };
  for (let i = 0; i < 40_000; i++) holder.kept.push(Array.from({ length: 100 }, (_, j) => i + j));
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  const grown = getHeapStatistics().total_heap_size;
  t.equal(holder.kept.length, 40_000);
  holder.kept = [];
  await compactHeap();
  const after = getHeapStatistics().total_heap_size;
  t.ok(
    after < grown - 16 * MB,
    `heap ${Math.round(grown / MB)} MB -> ${Math.round(after / MB)} MB`,
  );
});
