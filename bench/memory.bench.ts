/**
 * Memory: the daemon's resident set idle and holding 10,000 cached scopes,
 * against a bare idle Node process.
 */
import { readFile } from 'node:fs/promises';
import { sendRequest } from '../shared/daemon-client.js';
import type { BenchWorld } from './bench-world.js';
import { startChild, stopChild } from './child.js';
import { fixed, sleep, type Row } from './stats.js';

export const MEMORY_SCOPES = 10_000;
const FILL_CLIENTS = 16;

export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

/** RSS of a Node process that does nothing, started the same way. */
export async function bareNodeRssMb(): Promise<number> {
  const child = await startChild([
    '-e',
    "process.stdout.write('ready\\n'); setInterval(() => {}, 1 << 30)",
  ]);
  try {
    await sleep(500);
    return await rssMb(child.pid!);
  } finally {
    await stopChild(child);
  }
}

/** Fills the daemon's cache with one token for each of `repos`. */
export async function fillCache(world: BenchWorld, repos: readonly string[]): Promise<void> {
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < repos.length) {
      const reply = await sendRequest(world.daemon.socketPath, world.getRequest(repos[next++]!));
      if (!reply.ok) throw new Error(`filling the cache failed: ${reply.error.message}`);
    }
  };
  await Promise.all(Array.from({ length: FILL_CLIENTS }, client));
}

/**
 * RSS once the daemon has sat idle: V8 keeps part of the heap it grew to
 * while minting until a later GC gives it back (within ~10 s with the
 * daemon's heap tuning). Polls (bounded) until RSS has dropped and held, or
 * the time is up.
 */
export async function settledRssMb(pid: number, maxWaitMs = 45_000): Promise<number> {
  const peak = await rssMb(pid);
  let last = peak;
  for (let waitedMs = 0; waitedMs < maxWaitMs; waitedMs += 1000) {
    await sleep(1000);
    const now = await rssMb(pid);
    if (now < peak * 0.9 && Math.abs(now - last) < 1) return now;
    last = now;
  }
  return last;
}

export function memoryRows(
  idleMb: number,
  peakMb: number,
  settledMb: number,
  bareMb: number,
): Row[] {
  return [
    {
      benchmark: 'memory: RSS idle (MB)',
      ours: fixed(idleMb, 1),
      reference: `${fixed(bareMb, 1)} (bare idle node)`,
      ratio: fixed(idleMb / bareMb),
      target: '<= 60 MB',
      met: idleMb <= 60,
    },
    {
      benchmark: `memory: RSS with ${MEMORY_SCOPES.toLocaleString('en')} cached scopes, settled (MB)`,
      ours: `${fixed(settledMb, 1)} (+${fixed(settledMb - idleMb, 1)})`,
      reference: `${fixed(idleMb, 1)} (ours idle)`,
      ratio: fixed(settledMb / idleMb),
      target: '<= +20 MB',
      met: settledMb - idleMb <= 20,
    },
    {
      benchmark: `memory: RSS right after minting them (MB)`,
      ours: `${fixed(peakMb, 1)} (+${fixed(peakMb - idleMb, 1)})`,
      reference: `${fixed(idleMb, 1)} (ours idle)`,
      ratio: fixed(peakMb / idleMb),
      target: '',
      met: undefined,
    },
  ];
}
