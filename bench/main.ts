/**
 * `npm run bench`: every benchmark, ours beside its reference in the same
 * run, printed as the table the README keeps. Bounded: about a minute
 * on a two-core machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoNames, startBenchWorld } from './bench-world.js';
import { benchDaemon } from './daemon.bench.js';
import { benchHelper } from './helper.bench.js';
import {
  bareNodeRssMb,
  fillCache,
  MEMORY_SCOPES,
  memoryRows,
  rssMb,
  settledRssMb,
} from './memory.bench.js';
import { benchMint } from './mint.bench.js';
import { formatTable, sleep, type Row } from './stats.js';

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const git = spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim();
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${git}, ${process.platform}`;
}

const PARTS = ['helper', 'daemon', 'memory', 'mint'] as const;
type Part = (typeof PARTS)[number];

/** `npm run bench -- helper daemon` runs only those parts; no names, all. */
function chosenParts(argv: string[]): Set<Part> {
  const unknown = argv.filter((name) => !(PARTS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown part ${unknown.join(', ')}; choose from ${PARTS.join(', ')}\n`,
    );
    process.exit(2);
  }
  return new Set(argv.length === 0 ? PARTS : (argv as Part[]));
}

async function main(): Promise<void> {
  const parts = chosenParts(process.argv.slice(2));
  const startedMs = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'gcb-bench-work-'));
  const rows: Row[] = [];
  const progress = (what: string): void => {
    process.stderr.write(`[${((Date.now() - startedMs) / 1000).toFixed(0)} s] ${what}\n`);
  };

  try {
    progress('starting the fixture and the daemon');
    const repos = repoNames(MEMORY_SCOPES);
    const world = await startBenchWorld({ installed: repos });
    try {
      await sleep(1000);
      const idleMb = await rssMb(world.daemon.pid);
      const bareMb = await bareNodeRssMb();

      if (parts.has('helper')) {
        progress('helper benchmark');
        rows.push(...(await benchHelper(world, workDir)));
      }
      if (parts.has('daemon')) {
        progress('daemon benchmark');
        rows.push(...(await benchDaemon(world, workDir)));
      }
      if (parts.has('memory')) {
        progress(`filling the cache with ${MEMORY_SCOPES} scopes`);
        await fillCache(world, repos);
        await sleep(1000);
        const peakMb = await rssMb(world.daemon.pid);
        progress('waiting (at most 45 s) for the idle daemon to return memory');
        const settledMb = await settledRssMb(world.daemon.pid);
        rows.push(...memoryRows(idleMb, peakMb, settledMb, bareMb));
      }
    } finally {
      await world.close();
    }

    if (parts.has('mint')) {
      progress('mint benchmark');
      rows.push(...(await benchMint()));
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  process.stdout.write(`\n${formatTable(rows)}\n\nmachine: ${machine()}\n`);
  progress('done');
}

await main();
