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

const targets: [string, () => Promise<FuzzTarget>][] = [
  ['credential-input', async () => credentialParserTarget],
  ['wire-request', async () => wireParserTarget],
  ['socket-server', socketServerTarget],
];

for (const [name, make] of targets) {
  t.test(`every ${name} corpus input keeps the invariants`, async (t) => {
    const target = await make();
    t.teardown(() => target.stop());

    const entries = readCorpus(name).length;
    const broken = await replay(target);

    t.ok(entries > 0, 'the corpus has inputs');
    t.same(broken, [], `${entries} inputs replayed`);
  });
}
