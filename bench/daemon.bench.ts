/**
 * Daemon: cache-hit requests per second and p50/p99 latency, a new
 * connection per request, at 1, 8 and 64 concurrent clients, audit log on,
 * against a bare node:net server answering the same bytes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeMessage } from '../shared/protocol.js';
import type { BenchWorld } from './bench-world.js';
import { startChild, stopChild } from './child.js';
import { rawReply, runLoad, type LoadResult } from './raw-client.js';
import { fixed, median, quantile, type Row } from './stats.js';

const LEVELS = [1, 8, 64];
/** Requests per side and level, split into PAIRS alternating runs. */
const REQUESTS = { 1: 3000, 8: 6000, 64: 6000 } as Record<number, number>;
/**
 * Ours and the reference alternate in this many pairs, and the ratio is the
 * median of the pairs' ratios: on a shared machine a burst of someone
 * else's load then spoils one pair, not the figure.
 */
const PAIRS = 6;
const REPOS = 10;

/**
 * CPU time a process has used, in microseconds (user + system, all its
 * threads), from /proc: Linux only, undefined elsewhere.
 */
async function cpuMicros(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: utime, stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    // The kernel's USER_HZ is 100 on every Linux that Node supports.
    return Number.isFinite(ticks) ? ticks * 10_000 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `run` and adds the CPU time `pid` used meanwhile to `total` (when readable). */
async function withCpu<T>(pid: number, total: { us: number | undefined }, run: () => Promise<T>) {
  const before = await cpuMicros(pid);
  const result = await run();
  const after = await cpuMicros(pid);
  total.us =
    before === undefined || after === undefined || total.us === undefined
      ? undefined
      : total.us + after - before;
  return result;
}

function rps(run: LoadResult): number {
  return (run.latenciesMs.length / run.elapsedMs) * 1000;
}

function combine(runs: LoadResult[]) {
  const latencies = runs.flatMap((run) => run.latenciesMs);
  return {
    rps: median(runs.map(rps)),
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
      const ratios: number[] = [];
      const oursCpu = { us: 0 as number | undefined };
      const bareCpu = { us: 0 as number | undefined };
      for (let pair = 0; pair < PAIRS; pair++) {
        const count = Math.round(requests / PAIRS);
        const runOurs = () =>
          withCpu(world.daemon.pid, oursCpu, () =>
            runLoad(world.daemon.socketPath, lines, clients, count),
          );
        const runBare = () =>
          withCpu(bare.pid!, bareCpu, () => runLoad(bareSocket, lines, clients, count));
        // Alternate which side goes first.
        let a: LoadResult;
        let b: LoadResult;
        if (pair % 2 === 0) {
          a = await runOurs();
          b = await runBare();
        } else {
          b = await runBare();
          a = await runOurs();
        }
        ours.push(a);
        reference.push(b);
        ratios.push(rps(a) / rps(b));
      }
      const o = combine(ours);
      const r = combine(reference);
      const ratio = median(ratios);
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
      // Not a target: where the time goes. The load client shares the
      // machine, so requests per second follow both processes' CPU.
      if (oursCpu.us !== undefined && bareCpu.us !== undefined) {
        const served = ours.reduce((sum, run) => sum + run.latenciesMs.length, 0);
        const bareServed = reference.reduce((sum, run) => sum + run.latenciesMs.length, 0);
        const oursPer = oursCpu.us / served;
        const barePer = bareCpu.us / bareServed;
        rows.push({
          benchmark: `daemon hit, ${clients} client${clients === 1 ? '' : 's'} server CPU (us/req)`,
          ours: fixed(oursPer, 1),
          reference: fixed(barePer, 1),
          ratio: fixed(oursPer / barePer),
          target: '',
          met: undefined,
        });
      }
    }
  } finally {
    await stopChild(bare);
  }
  return rows;
}
