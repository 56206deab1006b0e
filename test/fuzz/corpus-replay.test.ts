/**
 * Replays the fuzz corpus (test/fuzz-corpus/, grown by `npm run fuzz`)
 * against the same invariants the fuzzer checks.
 */
import t from 'tap';
import { readCorpus } from '../fixtures/fuzz-corpus.js';
import {
  credentialParserTarget,
  socketServerTarget,
  wireParserTarget,
  type FuzzTarget,
} from '../fixtures/fuzz-targets.js';

async function replay(target: FuzzTarget): Promise<string[]> {
  const broken: string[] = [];
  for (const { file, input } of readCorpus(target.name)) {
    try {
      await target.check(input);
    } catch (error) {
      broken.push(`${file}: ${(error as Error).message}`);
    }
  }
  return broken;
}

for (const make of [
  async () => credentialParserTarget,
  async () => wireParserTarget,
  socketServerTarget,
]) {
  t.test('every corpus input keeps the invariants', async (t) => {
    const target = await make();
    t.teardown(() => target.stop());

    const entries = readCorpus(target.name).length;
    const broken = await replay(target);

    t.ok(entries > 0, `${target.name}: the corpus has inputs`);
    t.same(broken, [], `${target.name}: ${entries} inputs replayed`);
  });
}
