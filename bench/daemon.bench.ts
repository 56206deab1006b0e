/**
 * Daemon: cache-hit requests per second and p50/p99 latency, a new
 * connection per request, at 1, 8 and 64 concurrent clients, audit log on,
 * against a bare node:net server answering the same bytes.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeMessage } from '../shared/protocol.js';
import type { BenchWorld } from './bench-world.js';
import { startChild, stopChild } from './child.js';
import { rawReply, runLoad, type LoadResult } from './raw-client.js';
import { fixed, quantile, type Row } from './stats.js';

const LEVELS = [1, 8, 64];
/** Requests per run; each level runs ours, bare, ours, bare. */
const REQUESTS = { 1: 1500, 8: 3000, 64: 3000 } as Record<number, number>;
const REPOS = 10;

function combine(runs: LoadResult[]) {
  const latencies = runs.flatMap((run) => run.latenciesMs);
  const elapsedMs = runs.reduce((sum, run) => sum + run.elapsedMs, 0);
  return {
    rps: (latencies.length / elapsedMs) * 1000,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  };
}

export async function benchDaemon(world: BenchWorld, workDir: string): Promise<Row[]> {
  const lines = Array.from({ length: REPOS }, (_, i) =>
    encodeMessage(world.getRequest(`repo-${i}`)),
  );
  // Warm the cache, and keep one reply as the bare server's answer.
  for (const line of lines) await rawReply(world.daemon.socketPath, line);
  const replyFile = join(workDir, 'reply.json');
  await writeFile(replyFile, await rawReply(world.daemon.socketPath, lines[0]!));
  const bareSocket = join(workDir, 'bare.sock');
  const bare = await startChild([
    fileURLToPath(new URL('./bare-server.js', import.meta.url)),
    bareSocket,
    replyFile,
  ]);

  const rows: Row[] = [];
  try {
    for (const clients of LEVELS) {
      const requests = REQUESTS[clients]!;
      await runLoad(world.daemon.socketPath, lines, clients, 300);
      await runLoad(bareSocket, lines, clients, 300);
      const ours: LoadResult[] = [];
      const reference: LoadResult[] = [];
      for (let round = 0; round < 2; round++) {
        ours.push(await runLoad(world.daemon.socketPath, lines, clients, requests / 2));
        reference.push(await runLoad(bareSocket, lines, clients, requests / 2));
      }
      const o = combine(ours);
      const r = combine(reference);
      const ratio = o.rps / r.rps;
      const errors = o.errors + r.errors === 0 ? '' : `, ${o.errors} errors`;
      rows.push({
        benchmark: `daemon hit, ${clients} client${clients === 1 ? '' : 's'} (req/s)`,
        ours: `${Math.round(o.rps)}${errors}`,
        reference: `${Math.round(r.rps)} (bare node:net)`,
        ratio: fixed(ratio),
        target: '>= 0.75',
        met: ratio >= 0.75 && o.errors === 0,
      });
      rows.push({
        benchmark: `daemon hit, ${clients} client${clients === 1 ? '' : 's'} p50 / p99 (ms)`,
        ours: `${fixed(o.p50)} / ${fixed(o.p99)}`,
        reference: `${fixed(r.p50)} / ${fixed(r.p99)}`,
        ratio: `${fixed(o.p50 / r.p50)} / ${fixed(o.p99 / r.p99)}`,
        target: clients === 64 ? 'p99 <= 5 ms' : '',
        met: clients === 64 ? o.p99 <= 5 : undefined,
      });
    }
  } finally {
    await stopChild(bare);
  }
  return rows;
}
