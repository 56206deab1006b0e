/**
 * A bounded fuzz run against the credential parser, the wire parser and the
 * socket server: `npm run fuzz -- --count 100000 --seconds 600 --seed 1`.
 * Inputs come from our own seeded generators, a fifth of them mutated from
 * the corpus. An input with a new outcome signature is added to
 * test/fuzz-corpus/, which `npm test` replays; a broken invariant is saved
 * as failure-*.bin and fails the run. `--prune` keeps only the smallest
 * input per outcome, after the signature changed.
 */
import { parseArgs } from 'node:util';
import { credentialInput, mutate, Rng, wireRequest } from '../test/fixtures/fuzz-generators.js';
import { pruneCorpus, readCorpus, saveToCorpus } from '../test/fixtures/fuzz-corpus.js';
import {
  credentialParserTarget,
  FuzzFailure,
  socketServerTarget,
  wireParserTarget,
  type FuzzTarget,
} from '../test/fixtures/fuzz-targets.js';

/** Inputs larger than this are not kept unless they broke something. */
const MAX_CORPUS_INPUT_BYTES = 4096;
/** Socket inputs in flight at once. */
const SOCKET_CONCURRENCY = 16;

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '900' },
    seed: { type: 'string', default: '1' },
    targets: { type: 'string', default: 'credential-input,wire-request,socket-server' },
    prune: { type: 'boolean', default: false },
  },
});
const count = Number(values.count);
const deadlineMs = Date.now() + Number(values.seconds) * 1000;
const seed = Number(values.seed);

interface Tally {
  inputs: number;
  added: number;
  failures: number;
  ms: number;
}

async function fuzz(
  target: FuzzTarget,
  generate: (rng: Rng) => string,
  concurrency: number,
): Promise<Tally> {
  const rng = new Rng(seed);
  const corpus = readCorpus(target.name).map((entry) => entry.input.toString('latin1'));
  const seen = new Set<string>();
  for (const entry of readCorpus(target.name)) {
    try {
      seen.add(await target.check(entry.input));
    } catch {
      // A known failure: replay reports it.
    }
  }
  const tally: Tally = { inputs: 0, added: 0, failures: 0, ms: 0 };
  const started = Date.now();

  const one = async (input: Buffer): Promise<void> => {
    try {
      const signature = await target.check(input);
      if (seen.has(signature)) return;
      seen.add(signature);
      if (input.length > MAX_CORPUS_INPUT_BYTES) return;
      saveToCorpus(target.name, input, 'input');
      tally.added++;
    } catch (error) {
      tally.failures++;
      const file = saveToCorpus(target.name, input, 'failure');
      const reason = error instanceof FuzzFailure ? error.message : String(error);
      process.stderr.write(`fuzz: ${target.name}: ${reason} (saved ${file})\n`);
    }
  };

  while (tally.inputs < count && Date.now() < deadlineMs) {
    const batch: Buffer[] = [];
    for (let i = 0; i < concurrency && tally.inputs < count; i++, tally.inputs++) {
      const fromCorpus = corpus.length > 0 && rng.chance(0.2);
      const text = fromCorpus ? mutate(rng, rng.pick(corpus)) : generate(rng);
      batch.push(Buffer.from(text, fromCorpus ? 'latin1' : 'utf8'));
    }
    await Promise.all(batch.map(one));
  }
  tally.ms = Date.now() - started;
  return tally;
}

const plan: [string, () => Promise<FuzzTarget>, (rng: Rng) => string, number][] = [
  ['credential-input', async () => credentialParserTarget, credentialInput, 1],
  ['wire-request', async () => wireParserTarget, wireRequest, 1],
  ['socket-server', socketServerTarget, wireRequest, SOCKET_CONCURRENCY],
];

let failed = false;
for (const [name, create, generate, concurrency] of plan) {
  if (!values.targets.split(',').includes(name)) continue;
  const target = await create();
  try {
    if (values.prune) {
      const removed = await pruneCorpus(target.name, (input) => target.check(input));
      process.stdout.write(`fuzz: ${name}: pruned ${removed} inputs with a duplicate outcome\n`);
      continue;
    }
    const tally = await fuzz(target, generate, concurrency);
    failed ||= tally.failures > 0;
    process.stdout.write(
      `fuzz: ${name}: ${tally.inputs} inputs in ${(tally.ms / 1000).toFixed(1)} s (seed ${seed}), ${tally.added} added to the corpus, ${tally.failures} failures\n`,
    );
  } finally {
    // Some invariants can only be judged at the end (the daemon's log).
    await target.stop().catch((error: unknown) => {
      failed = true;
      process.stderr.write(`fuzz: ${name}: ${(error as Error).message}\n`);
    });
  }
}
process.exitCode = failed ? 1 : 0;
